using System.Runtime;

namespace WebApi;

/// <summary>
/// The model the app serves, and the next one: with Model:WatchForChanges (as Model Builder's PredictionEnginePool
/// watches its file), a model.zip written over Model:Path — as `mlnet-transfer train` writes it, or copied — is loaded
/// once its file has stayed the same for one look (Model:WatchSeconds), warmed up, and then served, without a restart.
/// A request borrows the model it started with (<see cref="Borrow"/>) and finishes on it; the old model is disposed,
/// its network's temporary copy removed, when the last such request returns it. A file that does not load (half
/// copied, not a model) leaves the old model serving, the reason in /health's reloadError and the log, until the file
/// changes again. Two models are in memory while the new one loads.
/// </summary>
public sealed class ServedModel : IDisposable
{
    readonly ModelSettings _settings;
    readonly ILogger<ServedModel> _log;
    readonly DecodeBudget _budget;
    Holder _current;
    FileState? _served, _seen, _failed;

    public ServedModel(ModelSettings settings, string contentRoot, ILogger<ServedModel> log)
    {
        if (!(settings.WatchSeconds > 0))
            throw new ArgumentOutOfRangeException(nameof(settings), $"Model:WatchSeconds in appsettings.json must be a number of seconds above 0 (such as 2), not {settings.WatchSeconds}");
        _settings = settings;
        _log = log;
        _budget = DecodeBudget.ForMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, settings.MaxDecodeBytes);
        Path = ImageClassifier.Locate(settings.Path, contentRoot);
        _served = _seen = FileState.Of(Path); // before loading: a file replaced while it loads is loaded again
        _current = new Holder(new ImageClassifier(Path, settings, _budget), log);
    }

    /// <summary>The model file served and watched.</summary>
    public string Path { get; }

    /// <summary>Why the newest file at <see cref="Path"/> is not the model served; null when it is.</summary>
    public string? ReloadError { get; private set; }

    /// <summary>The model now served, for one request: dispose the lease when the request is done with it.</summary>
    public Lease Borrow()
    {
        while (true)
        {
            var holder = Volatile.Read(ref _current);
            if (holder.TryAdd()) return new Lease(holder);
            // a model is retired after its successor is in place, so the next read finds that; unless the app has ended
            if (ReferenceEquals(holder, Volatile.Read(ref _current))) throw new ObjectDisposedException(nameof(ServedModel), "the app is stopping");
        }
    }

    /// <summary>One look at the file (the watcher's, one at a time): loads and serves it when it changed and has
    /// stayed the same since the last look; returns whether it did. Never throws: a failure is logged and kept in
    /// <see cref="ReloadError"/>.</summary>
    public bool ReloadIfChanged()
    {
        FileState? state;
        try
        {
            state = FileState.Of(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // looked at again next time
        }
        var previous = _seen;
        _seen = state;
        if (state == null || state == _served || state == _failed || state != previous) return false; // gone, the same, known bad, or still being written
        try
        {
            var next = new Holder(new ImageClassifier(Path, _settings, _budget), _log);
            var old = Interlocked.Exchange(ref _current, next);
            old.Replaced = true;
            old.Release(); // disposed once the requests that borrowed it return it
            _served = state;
            ReloadError = null;
            _log.LogInformation("Serving the model written to {Path} at {Written:u}: {Count} classes at {Side} px", Path, state.Value.Written, next.Classifier.Classes.Count, next.Classifier.ImageSize);
            return true;
        }
        catch (Exception e)
        {
            _failed = state;
            ReloadError = $"{Path} written at {state.Value.Written:u} did not load, so the model loaded at {_current.Classifier.Loaded:u} still serves: {e.Message}"; // only this thread replaces it
            _log.LogError(e, "{Error}", ReloadError);
            return false;
        }
    }

    /// <summary>At the app's end: the model is disposed once the requests still on it return it.</summary>
    public void Dispose() => Volatile.Read(ref _current).Release();

    /// <summary>What says a file changed: its length and when it was last written.</summary>
    readonly record struct FileState(long Length, DateTime Written)
    {
        public static FileState? Of(string path) => new FileInfo(path) is { Exists: true } file ? new FileState(file.Length, file.LastWriteTimeUtc) : null;
    }

    /// <summary>A model and how many hold it: the app while it serves it, and each request that borrowed it.</summary>
    public sealed class Holder(ImageClassifier classifier, ILogger log)
    {
        int _holders = 1;

        public ImageClassifier Classifier { get; } = classifier;

        /// <summary>One more holder, unless the last one has gone and the model is disposed.</summary>
        public bool TryAdd()
        {
            for (int holders = Volatile.Read(ref _holders); holders > 0; holders = Volatile.Read(ref _holders))
                if (Interlocked.CompareExchange(ref _holders, holders + 1, holders) == holders) return true;
            return false;
        }

        /// <summary>Set when a newer model replaces this one: the last holder then disposes it off its own thread,
        /// with a full collection after (at the app's end it is disposed where the last holder lets go).</summary>
        public bool Replaced { get; set; }

        public void Release()
        {
            if (Interlocked.Decrement(ref _holders) != 0) return;
            if (!Replaced)
            {
                Classifier.Dispose();
                return;
            }
            // not on a request's thread: the collections below take a moment
            ThreadPool.UnsafeQueueUserWorkItem(static holder => holder.DisposeReplaced(), this, preferLocal: false);
        }

        /// <summary>Disposes a replaced model and gives the memory it held back to the system: a model leaves hundreds
        /// of MB of large arrays (its network read from the zip, more than once) that the GC keeps a while, and glibc
        /// keeps what ONNX Runtime freed in its arenas — 16 reloads of a ResNet-18 took the app from 0.5 to 2.2 GB
        /// resident without these steps, 0.5–0.7 GB with them.</summary>
        void DisposeReplaced()
        {
            try
            {
                Classifier.Dispose();
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect();
                GC.WaitForPendingFinalizers(); // native memory that only finalizers free
                GC.Collect();
                if (OperatingSystem.IsLinux()) malloc_trim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // a C library without malloc_trim (musl): the memory is reused, not returned
            }
            catch (Exception e)
            {
                log.LogError(e, "Disposing the model replaced at {Path} failed", Classifier.ModelPath); // on a pool thread: not to end the app
            }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern int malloc_trim(nuint pad);

    /// <summary>One request's hold on the model it started with.</summary>
    public sealed class Lease(Holder holder) : IDisposable
    {
        int _released;

        public ImageClassifier Classifier => holder.Classifier;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) holder.Release();
        }
    }
}

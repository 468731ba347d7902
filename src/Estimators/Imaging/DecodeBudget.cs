namespace MlNetTransfer.Imaging;

/// <summary>
/// The memory the process's image decodes may hold at once. Formats that cannot decode small (PNG, GIF, BMP) hold the
/// whole picture for a moment, and a progressive JPEG holds every DCT coefficient whatever scale it decodes at: a
/// 7 KB WebP or a 0.5 MB PNG can claim 177 megapixels, 0.7 GB decoded, and a decode on every core — or in every web
/// request — multiplied it (eight such requests took a web API to 8 GB). Each decode takes its bytes from this budget
/// first and waits, in arrival order, while others hold too much. One decode alone proceeds up to
/// <see cref="AloneBytes"/>: in a process that may use 24 GB every image within the pixel limit does, but in a
/// container limited to 1 GiB the 0.5 MB PNG above killed the process it was sent to (the kernel's OOM killer), so
/// there an image that needs more than half the memory the process may use is refused, by name, instead. The shared
/// budget is sized from that memory (.NET's view of it: a container's limit, a GC heap limit, or the machine's).
/// Camera photos decode at 1/8 scale and take a megabyte.
/// The generated web API, which references ML.NET alone, carries an asynchronous twin (templates/WebApi/DecodeBudget.cs:
/// a request waits without holding a thread) that counts a decode's memory the same way (<c>ServingDecodeTests</c>).
/// </summary>
public sealed class DecodeBudget
{
    /// <summary>The most the shared budget holds at once: 1 GiB, more than one decode at the default pixel limit needs.</summary>
    public const long DefaultBytes = 1L << 30;

    /// <summary>The budget <see cref="ImageDecoder"/> takes from, sized for the memory this process may use.</summary>
    public static DecodeBudget Shared { get; } = ForMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The budget for a process that may use <paramref name="memoryBytes"/>: decodes hold at most a quarter
    /// of it at once (and at most <see cref="DefaultBytes"/>), one alone at most half of it.</summary>
    public static DecodeBudget ForMemory(long memoryBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryBytes, 4);
        return new DecodeBudget(Math.Min(DefaultBytes, memoryBytes / 4), memoryBytes / 2) { MemoryBytes = memoryBytes };
    }

    readonly SemaphoreSlim _turn = new(1, 1); // the waiter at the head; the rest queue here in order
    readonly object _gate = new();
    TaskCompletionSource? _released;
    long _inFlight, _highWater;

    /// <summary>A budget that holds up to <paramref name="limitBytes"/> at once and lets one decode alone hold up to
    /// <paramref name="aloneBytes"/> (never less than the limit; without it, any amount).</summary>
    public DecodeBudget(long limitBytes, long? aloneBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        LimitBytes = limitBytes;
        AloneBytes = Math.Max(limitBytes, aloneBytes ?? long.MaxValue);
    }

    public long LimitBytes { get; }

    /// <summary>The most one decode may hold, alone: a decode that needs more is refused (<see cref="Refuses"/>).</summary>
    public long AloneBytes { get; }

    /// <summary>The memory the process may use that the budget was sized from, or null.</summary>
    public long? MemoryBytes { get; private init; }

    /// <summary>Why a decode needing <paramref name="bytes"/> may not proceed even alone, or null when it may.</summary>
    public string? Refuses(long bytes) => bytes <= AloneBytes ? null
        : $"needs {Size(bytes)} to decode, more than one image may take in this process ({Size(AloneBytes)}" +
          (MemoryBytes is { } memory ? $": half the {Size(memory)} it may use)" : ")");

    static string Size(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0 GB", System.Globalization.CultureInfo.InvariantCulture)
        : (bytes / (double)(1L << 20)).ToString("0 MB", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The most bytes held at once so far.</summary>
    public long HighWater { get { lock (_gate) return _highWater; } }

    /// <summary>Waits until <paramref name="bytes"/> fit beside what other decodes hold (or none holds any), then holds
    /// them until the lease is disposed.</summary>
    public IDisposable Take(long bytes, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        _turn.Wait(cancellation);
        try
        {
            while (true)
            {
                Task released;
                lock (_gate)
                {
                    if (_inFlight == 0 || _inFlight + bytes <= LimitBytes)
                    {
                        _inFlight += bytes;
                        _highWater = Math.Max(_highWater, _inFlight);
                        return new Lease(this, bytes);
                    }
                    released = (_released ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
                released.Wait(cancellation);
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    void Return(long bytes)
    {
        lock (_gate)
        {
            _inFlight -= bytes;
            _released?.TrySetResult();
            _released = null;
        }
    }

    sealed class Lease(DecodeBudget budget, long bytes) : IDisposable
    {
        int _returned;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0) budget.Return(bytes);
        }
    }
}

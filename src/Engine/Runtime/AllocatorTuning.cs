using System.Runtime.InteropServices;

namespace MlNetTransfer.Runtime;

/// <summary>
/// Keeps freed tensor memory in the process while training on the CPU. libtorch allocates activations and gradients
/// with malloc; glibc serves blocks over its mmap threshold (at most 32 MB) with fresh mmap calls and returns freed
/// heap tops to the system, so every training step page-faults its working set in again (measured: 2.6 million
/// minor faults in a 3-epoch resnet18 fit at 128 px; 0.37 million with this tuning, 17 % more images per second).
/// While a scope is open the thresholds are raised so freed blocks are reused; when the last scope closes they are
/// set to what glibc's own adaptive thresholds reach under tensor workloads (32 MB mmap, 64 MB trim) and the heap
/// is trimmed, so the memory goes back. Process-wide, reference-counted, and a no-op off glibc.
/// </summary>
public static class AllocatorTuning
{
    const int MmapThresholdParameter = -3, TrimThresholdParameter = -1;
    const int TrainingMmapThreshold = 1 << 30, TrainingTrimThreshold = int.MaxValue;
    const int AfterMmapThreshold = 32 << 20, AfterTrimThreshold = 64 << 20;

    /// <summary>Set to 0 to leave the C allocator as it is.</summary>
    public const string EnvironmentVariable = "MLNETTRANSFER_TUNE_MALLOC";

    static readonly object Gate = new();
    static int _open;
    static bool? _available;

    /// <summary>Whether tuning applies here: Linux with glibc, and not switched off by <see cref="EnvironmentVariable"/>.</summary>
    public static bool IsEnabled =>
        OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(EnvironmentVariable) != "0" && GlibcAvailable();

    /// <summary>How many scopes are open now.</summary>
    public static int OpenScopes
    {
        get { lock (Gate) return _open; }
    }

    /// <summary>Opens a scope: training-time thresholds until the returned object is disposed.</summary>
    public static IDisposable Begin()
    {
        if (!IsEnabled) return new Scope(active: false);
        lock (Gate)
        {
            if (_open++ == 0)
            {
                mallopt(MmapThresholdParameter, TrainingMmapThreshold);
                mallopt(TrimThresholdParameter, TrainingTrimThreshold);
            }
        }
        return new Scope(active: true);
    }

    /// <summary>Starts a pass with a working set of its own (the classifier's feature pass; then the training epochs):
    /// the pass's first <see cref="Trim"/> sets the mark afresh. Measured against the feature pass's mark, training's
    /// larger steady working set was trimmed at every epoch's end and faulted in again (mobilenet_v2 whole network at
    /// 128 px on 2 cores: epochs 2 to 4 took 6.0 s each against 3.5 s untrimmed, the raw step's pace).</summary>
    public static void BeginPass()
    {
        if (!IsEnabled) return;
        lock (Gate) _residentAfterTrim = 0;
    }

    /// <summary>Gives free heap pages back to the system without closing the scope (glibc's malloc_trim also releases
    /// free pages inside the heap) — when the process has grown since the pass's first call (<see cref="BeginPass"/>):
    /// by more than half of what it held then, and at least 512 MB. Long passes call it now and then: with trimming off, a pass over tens of
    /// thousands of batches grew the heap with the number of images (resnet18 at 112 px, the classifier's feature pass:
    /// peak RSS 1.95 GB for 1 000 images, 2.36 GB for 3 000). A pass that holds steady is left its working set:
    /// trimmed every epoch regardless, each epoch began by faulting it in again (mobilenet_v2 at 128 px on 2 cores:
    /// epochs after the first 30 % slower than with no trim), and trimmed after every feature batch at 224 px, the
    /// pass took twice as long.</summary>
    public static void Trim()
    {
        if (!IsEnabled) return;
        lock (Gate)
        {
            if (_open == 0) return;
            long resident = ResidentBytes();
            if (_residentAfterTrim == 0) _residentAfterTrim = resident; // the pass's first call sets the mark
            else if (resident > _residentAfterTrim + Math.Max(_residentAfterTrim / 2, GrowthFloor))
            {
                malloc_trim(0);
                TrimsDone++;
                // the mark only ever goes down: one that followed what a trim could not give back would ratchet up
                _residentAfterTrim = Math.Min(_residentAfterTrim, ResidentBytes());
            }
        }
    }

    const long GrowthFloor = 512L << 20;

    /// <summary>How many times <see cref="Trim"/> has given memory back (for tests: whether glibc then returns the
    /// pages depends on the arena that held them).</summary>
    internal static int TrimsDone { get; private set; }
    static long _residentAfterTrim;

    /// <summary>Resident memory now (/proc/self/statm's second field, in pages); 0 where it cannot be read.</summary>
    static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    static void End()
    {
        lock (Gate)
        {
            if (--_open > 0) return;
            _residentAfterTrim = 0;
            mallopt(MmapThresholdParameter, AfterMmapThreshold);
            mallopt(TrimThresholdParameter, AfterTrimThreshold);
            malloc_trim(0);
        }
    }

    static bool GlibcAvailable()
    {
        lock (Gate)
        {
            if (_available is { } known) return known;
            try
            {
                // gnu_get_libc_version exists only in glibc; musl and others have no such entry point.
                _available = Marshal.PtrToStringUTF8(gnu_get_libc_version()) is { Length: > 0 };
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _available = false;
            }
            return _available.Value;
        }
    }

    sealed class Scope(bool active) : IDisposable
    {
        int _disposed;

        public void Dispose()
        {
            if (active && Interlocked.Exchange(ref _disposed, 1) == 0) End();
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    static extern IntPtr gnu_get_libc_version();
}

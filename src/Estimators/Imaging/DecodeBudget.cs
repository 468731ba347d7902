namespace MlNetTransfer.Imaging;

/// <summary>
/// The memory the process's image decodes may hold at once. Formats that cannot decode small (PNG, GIF, BMP) hold the
/// whole picture for a moment, and a progressive JPEG holds every DCT coefficient whatever scale it decodes at: a
/// 7 KB WebP or a 0.5 MB PNG can claim 177 megapixels, 0.7 GB decoded, and a decode on every core — or in every web
/// request — multiplied it (eight such requests took a web API to 8 GB). Each decode takes its bytes from this budget
/// first and waits, in arrival order, while others hold too much; one decode alone always proceeds, so an image
/// within the pixel limit is never refused for size here. Camera photos decode at 1/8 scale and take a megabyte.
/// The generated web API, which references ML.NET alone, carries an asynchronous twin (templates/WebApi/DecodeBudget.cs:
/// a request waits without holding a thread) that counts a decode's memory the same way (<c>ServingDecodeTests</c>).
/// </summary>
public sealed class DecodeBudget
{
    /// <summary>The default: 1 GiB, more than one decode at the default pixel limit needs.</summary>
    public const long DefaultBytes = 1L << 30;

    /// <summary>The budget <see cref="ImageDecoder"/> takes from.</summary>
    public static DecodeBudget Shared { get; } = new(DefaultBytes);

    readonly SemaphoreSlim _turn = new(1, 1); // the waiter at the head; the rest queue here in order
    readonly object _gate = new();
    TaskCompletionSource? _released;
    long _inFlight, _highWater;

    public DecodeBudget(long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        LimitBytes = limitBytes;
    }

    public long LimitBytes { get; }

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

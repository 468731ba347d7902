using SkiaSharp;

namespace WebApi;

/// <summary>The memory the app's decodes may hold at once (Model:MaxDecodeBytes). A small upload can claim a large
/// picture — a 7 KB WebP or a 0.5 MB PNG of 177 megapixels decodes to 0.7 GB before it is reduced — and requests decode
/// side by side: each decode waits here, in arrival order, until its bytes fit beside those held, so memory stays within
/// the limit however many such requests arrive at once. One alone proceeds up to half the memory the app may use (.NET's
/// view of it: a container's limit, or the machine's); an upload that needs more is refused — in a container limited
/// to 1 GiB that PNG killed the app it was sent to. mlnet-transfer's own decoder takes its memory the same way.</summary>
public sealed class DecodeBudget
{
    readonly SemaphoreSlim _turn = new(1, 1); // the request at the head waits for memory; the rest wait here, in order
    readonly object _gate = new();
    TaskCompletionSource? _released;
    long _inFlight;

    /// <summary>A budget that holds up to <paramref name="limitBytes"/> at once and lets one decode alone hold up to
    /// <paramref name="aloneBytes"/> (never less than the limit; without it, any amount).</summary>
    public DecodeBudget(long limitBytes, long? aloneBytes = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        LimitBytes = limitBytes;
        AloneBytes = Math.Max(limitBytes, aloneBytes ?? long.MaxValue);
    }

    /// <summary>The budget for an app that may use <paramref name="memoryBytes"/>: <paramref name="limitBytes"/> at once
    /// (0: a quarter of that memory, at most 1 GiB), one decode alone at most half of it.</summary>
    public static DecodeBudget ForMemory(long memoryBytes, long limitBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryBytes, 4);
        return new DecodeBudget(limitBytes > 0 ? limitBytes : Math.Min(1L << 30, memoryBytes / 4), memoryBytes / 2) { MemoryBytes = memoryBytes };
    }

    public long LimitBytes { get; }

    /// <summary>The most one decode may hold, alone: a decode that needs more is refused (<see cref="Refuses"/>).</summary>
    public long AloneBytes { get; }

    /// <summary>The memory the app may use that the budget was sized from, or null.</summary>
    public long? MemoryBytes { get; private init; }

    /// <summary>Why a decode needing <paramref name="bytes"/> may not proceed even alone, or null when it may.</summary>
    public string? Refuses(long bytes) => bytes <= AloneBytes ? null
        : $"needs {Size(bytes)} to decode, more than one image may take in this process ({Size(AloneBytes)}" +
          (MemoryBytes is { } memory ? $": half the {Size(memory)} it may use)" : ")");

    static string Size(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0 GB", System.Globalization.CultureInfo.InvariantCulture)
        : (bytes / (double)(1L << 20)).ToString("0 MB", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Waits until <paramref name="bytes"/> fit, then holds them until the lease is disposed.</summary>
    public async Task<IDisposable> TakeAsync(long bytes, CancellationToken cancellation)
    {
        await _turn.WaitAsync(cancellation);
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
                        return new Lease(this, bytes);
                    }
                    released = (_released ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
                await released.WaitAsync(cancellation);
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>The most memory decoding <paramref name="bytes"/> holds: the pixels decoded and reduced, a WebP's decoder
    /// buffers, a progressive JPEG's coefficients (libjpeg keeps all of them until the last scan, at any scale).
    /// Throws <see cref="InvalidDataException"/> as <see cref="ImageDecoding.Load(byte[])"/> does.</summary>
    public static long Needed(ImageDecoding decoding, byte[] bytes)
    {
        using var codec = decoding.Open(bytes);
        var (size, reduceBy) = decoding.Plan(codec);
        long full = (long)codec.Info.Width * codec.Info.Height, decoded = (long)size.Width * size.Height * 4;
        long extra = codec.EncodedFormat switch
        {
            SKEncodedImageFormat.Jpeg => JpegCoefficientBytes(bytes) ?? full * 6,
            SKEncodedImageFormat.Webp => full * 6,
            _ => 0,
        };
        long reduced = reduceBy > 1 ? (long)((size.Width + reduceBy - 1) / reduceBy) * ((size.Height + reduceBy - 1) / reduceBy) * 4 : 0;
        return decoded + reduced + extra;
    }

    /// <summary>0 for a sequential JPEG; for a progressive one (SOF2, 6, 10, 14) its components' blocks × 64 × 2 bytes;
    /// null when the frame header cannot be read.</summary>
    static long? JpegCoefficientBytes(ReadOnlySpan<byte> jpeg)
    {
        for (int i = 2; i + 3 < jpeg.Length;)
        {
            if (jpeg[i] != 0xFF) return null;
            byte marker = jpeg[i + 1];
            if (marker == 0xFF) { i++; continue; }
            int length = jpeg[i + 2] << 8 | jpeg[i + 3];
            bool frame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
            if (frame && marker is not (0xC2 or 0xC6 or 0xCA or 0xCE)) return 0;
            if (!frame && marker is not (0xDA or 0xD9)) { i += 2 + length; continue; }
            if (!frame || i + 2 + length > jpeg.Length || length < 8) return null;
            var header = jpeg.Slice(i + 4, length - 2); // precision, height, width, components (id, sampling, table)
            int height = header[1] << 8 | header[2], width = header[3] << 8 | header[4], count = header[5];
            if (count == 0 || header.Length < 6 + 3 * count) return null;
            int hMax = 1, vMax = 1;
            for (int c = 0; c < count; c++) { hMax = Math.Max(hMax, header[7 + 3 * c] >> 4); vMax = Math.Max(vMax, header[7 + 3 * c] & 15); }
            long blocks = 0;
            for (int c = 0; c < count; c++)
            {
                int h = Math.Max(1, header[7 + 3 * c] >> 4), v = Math.Max(1, header[7 + 3 * c] & 15);
                blocks += (((long)width * h + 8L * hMax - 1) / (8L * hMax) + h) * (((long)height * v + 8L * vMax - 1) / (8L * vMax) + v);
            }
            return blocks * 64 * 2;
        }
        return null;
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

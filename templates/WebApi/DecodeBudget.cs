using SkiaSharp;

namespace WebApi;

/// <summary>The memory the app's decodes may hold at once (Model:MaxDecodeBytes). A small upload can claim a large
/// picture — a 7 KB WebP or a 0.5 MB PNG of 177 megapixels decodes to 0.7 GB before it is reduced — and requests decode
/// side by side: each decode waits here, in arrival order, until its bytes fit beside those held (one alone always
/// proceeds), so memory stays within the limit however many such requests arrive at once. mlnet-transfer's own
/// decoder takes its memory the same way, from a budget of the same size.</summary>
public sealed class DecodeBudget(long limitBytes)
{
    readonly SemaphoreSlim _turn = new(1, 1); // the request at the head waits for memory; the rest wait here, in order
    readonly object _gate = new();
    TaskCompletionSource? _released;
    long _inFlight;

    public long LimitBytes { get; } = limitBytes;

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
    /// Throws <see cref="InvalidDataException"/> as <see cref="ImageDecoding.Load(Stream)"/> does.</summary>
    public static long Needed(ImageDecoding decoding, byte[] bytes)
    {
        using var codec = decoding.Open(new MemoryStream(bytes, writable: false));
        var (size, reduceBy) = decoding.Plan(codec);
        long full = (long)codec.Info.Width * codec.Info.Height, decoded = (long)size.Width * size.Height * 4;
        long extra = codec.EncodedFormat switch
        {
            SKEncodedImageFormat.Jpeg => JpegCoefficientBytes(bytes) ?? full * 6,
            SKEncodedImageFormat.Webp => full * 6,
            _ => 0,
        };
        return decoded + (reduceBy > 1 ? decoded / 4 : 0) + extra;
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

using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>
/// Decodes image files the way training and serving both read them: the header first (the pixel count checked against
/// a limit before anything is allocated, so a 177-byte file that claims 50 000 × 50 000 pixels costs nothing), then
/// the pixels at a size whose shorter side lies between the side the network needs and twice it (see
/// <see cref="DecodePlan"/>: JPEGs through libjpeg-turbo's DCT scaling at 1/8, 1/4 or 1/2 — a 12-megapixel photo for
/// a 224 px network decodes at 504 × 378, as Pillow's <c>draft</c> does —, WebPs through libwebp's scaler, the other
/// formats whole and then reduced by 2 × 2 box means), within the process's <see cref="DecodeBudget"/>, and turned
/// upright as the file's EXIF orientation asks. The result is BGRA, premultiplied, without colour conversion: what
/// ML.NET's LoadImages holds for the same file when no scaling or turning applies, so ML.NET's resize then gives the
/// same pixels.
/// A decode that does not reach the last row (a truncated or damaged file) is a problem, not a picture: SkiaSharp
/// would hand it back with the missing rows black.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The default limit on an image's pixel count: Pillow's (twice its <c>MAX_IMAGE_PIXELS</c>, where it
    /// refuses rather than warns), about 179 megapixels — a 13 378-pixel square, ten times a phone's 12-megapixel
    /// photo. A full decode of that many pixels takes 716 MB.</summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>The header of <paramref name="path"/>, or what is wrong with the file (missing, empty, not an
    /// image, over <paramref name="maxPixels"/>).</summary>
    public static (ImageHeader? Header, string? Problem) ReadHeader(string path, long maxPixels = DefaultMaxPixels)
    {
        try
        {
            if (NotAFile(path) is { } problem) return (null, problem);
            using var stream = File.OpenRead(path);
            return ReadHeader(stream, maxPixels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot be read ({e.Message})");
        }
    }

    /// <summary>The header of the image in <paramref name="stream"/>, or what is wrong with it.</summary>
    public static (ImageHeader? Header, string? Problem) ReadHeader(Stream stream, long maxPixels = DefaultMaxPixels)
    {
        using var codec = Open(Seekable(stream), out _, out var problem);
        return codec == null ? (null, problem) : Check(codec, maxPixels);
    }

    /// <summary>The header of the image <paramref name="codec"/> has opened, or what is wrong with it (over
    /// <paramref name="maxPixels"/>, no pixels).</summary>
    public static (ImageHeader? Header, string? Problem) ReadHeader(SKCodec codec, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return Check(codec, maxPixels);
    }

    /// <summary>Decodes <paramref name="path"/> for a network that reads <paramref name="side"/>×<paramref name="side"/>
    /// pixels (see the class summary). The caller owns the bitmap.</summary>
    public static DecodedImage Decode(string path, int side, long maxPixels = DefaultMaxPixels)
    {
        try
        {
            if (NotAFile(path) is { } problem) return DecodedImage.Failed(problem);
            using var stream = File.OpenRead(path);
            return Decode(stream, side, maxPixels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DecodedImage.Failed($"cannot be read ({e.Message})");
        }
    }

    /// <summary>Decodes the image in <paramref name="stream"/> (a file, an upload, a blob) as <see cref="Decode(string, int, long)"/>.</summary>
    public static DecodedImage Decode(Stream stream, int side, long maxPixels = DefaultMaxPixels) =>
        Decode(stream, side, maxPixels, DecodeBudget.Shared);

    /// <summary>As <see cref="Decode(Stream, int, long)"/>, the memory taken from <paramref name="budget"/>.</summary>
    internal static DecodedImage Decode(Stream stream, int side, long maxPixels, DecodeBudget budget)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 1);
        stream = Seekable(stream);
        long? coefficients = JpegCoefficients(stream);
        using var codec = Open(stream, out var source, out var unreadable);
        if (codec == null) return DecodedImage.Failed(unreadable!);
        var (header, problem) = Check(codec, maxPixels);
        if (header == null) return DecodedImage.Failed(problem!);

        var plan = DecodePlan.For(codec, side, coefficients);
        if (budget.Refuses(plan.Bytes) is { } tooMuch) return DecodedImage.Failed($"{header.Width}×{header.Height} pixels {tooMuch}");
        using var lease = budget.Take(plan.Bytes);
        var alpha = codec.Info.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : codec.Info.AlphaType; // as SKBitmap.Decode
        var info = new SKImageInfo(plan.Decoded.Width, plan.Decoded.Height, SKColorType.Bgra8888, alpha);
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            bitmap.Dispose();
            return DecodedImage.Failed($"{info.Width}×{info.Height} pixels could not be allocated");
        }
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
        {
            bitmap.Dispose();
            return DecodedImage.Failed(Unreadable(source!, () => decoded is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? "truncated or damaged (its image data ends early)" : $"not a readable image ({Describe(decoded)})"));
        }
        if (plan.ReduceBy > 1) bitmap = Replace(bitmap, BoxReduction.Reduce(bitmap, plan.ReduceBy));
        if (header.Turned) bitmap = Replace(bitmap, Orientation.Upright(bitmap, header.Origin));
        return new DecodedImage(bitmap, header, null);
    }

    static SKBitmap Replace(SKBitmap old, SKBitmap made)
    {
        if (!ReferenceEquals(old, made)) old.Dispose();
        return made;
    }

    /// <summary>The codec for the image in <paramref name="seekable"/>, read through <paramref name="source"/> (never
    /// SkiaSharp's own stream wrapper: see <see cref="SkiaReadStream"/>); null with the <paramref name="problem"/>
    /// (empty, a format SkiaSharp cannot decode named by its first bytes, not an image, the stream failing) when there
    /// is none.</summary>
    static SKCodec? Open(Stream seekable, out SkiaReadStream? source, out string? problem)
    {
        (source, problem) = (null, null);
        long start = seekable.Position;
        if (seekable.Length - start <= 0)
        {
            problem = "empty file";
            return null;
        }
        source = SkiaReadStream.Over(seekable);
        var codec = SKCodec.Create(source, out var opened);
        // the bytes are looked at again only when the stream itself did not fail
        if (codec == null) problem = Unreadable(source, () => Undecodable(seekable, start) ?? $"not a readable image ({Describe(opened)})");
        return codec;
    }

    /// <summary>What <see cref="UndecodableFormat"/> makes of the first bytes from <paramref name="start"/>; null when
    /// they name no format (or cannot be read again).</summary>
    static string? Undecodable(Stream seekable, long start)
    {
        Span<byte> head = stackalloc byte[UndecodableFormat.HeadBytes];
        try
        {
            seekable.Position = start;
            int read = seekable.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            return UndecodableFormat.Describe(head[..read]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>What the stream under <paramref name="source"/> threw while the codec read it, else what <paramref name="otherwise"/> says (asked only then).</summary>
    static string Unreadable(SkiaReadStream source, Func<string> otherwise) =>
        source.Failure is { } failure ? $"cannot be read ({failure.Message})" : otherwise();

    /// <summary><paramref name="stream"/> if it seeks (a file, an upload in memory), else what is left of it copied to
    /// memory: Skia's codecs go back in what they read.</summary>
    static Stream Seekable(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek) return stream;
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }

    /// <summary>The coefficient buffer a JPEG in <paramref name="stream"/> makes libjpeg hold (see
    /// <see cref="JpegFrame"/>), read from its first bytes, the stream put back where it was; null when unknown (a
    /// stream that cannot seek, not a JPEG's header).</summary>
    static long? JpegCoefficients(Stream stream)
    {
        if (!stream.CanSeek) return null;
        long start = stream.Position;
        var head = System.Buffers.ArrayPool<byte>.Shared.Rent(JpegFrame.HeadBytes);
        try
        {
            int read = stream.ReadAtLeast(head.AsSpan(0, 2), 2, throwOnEndOfStream: false);
            if (read < 2 || head[0] != 0xFF || head[1] != 0xD8) return null; // not a JPEG: read no further
            read += stream.ReadAtLeast(head.AsSpan(2, JpegFrame.HeadBytes - 2), JpegFrame.HeadBytes - 2, throwOnEndOfStream: false);
            return JpegFrame.CoefficientBytes(head.AsSpan(0, read));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(head);
            stream.Position = start;
        }
    }

    /// <summary>Why <paramref name="path"/> cannot be opened as an image file: missing, or not a plain file (a FIFO or
    /// device would block the read for ever or never end); null when it can.</summary>
    static string? NotAFile(string path)
    {
        if (!File.Exists(path)) return Directory.Exists(path) ? "a folder, not an image" : "missing";
        return FileStatus.Of(path) is { IsRegular: false } status ? $"{status.Kind}, not an image file" : null;
    }

    static (ImageHeader? Header, string? Problem) Check(SKCodec codec, long maxPixels)
    {
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) return (null, "empty image");
        var header = new ImageHeader(info.Width, info.Height, codec.EncodedFormat, codec.EncodedOrigin);
        if (header.Pixels > maxPixels)
            return (null, $"{info.Width}×{info.Height} pixels ({header.Pixels / 1e6:0.#} megapixels) is over the limit of " +
                          $"{maxPixels / 1e6:0.#} megapixels (--max-image-pixels, MaxImagePixels): refused before decoding");
        return (header, null);
    }

    static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.Unimplemented => "format not supported",
        SKCodecResult.IncompleteInput => "file ends early",
        _ => result.ToString(),
    };
}

using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>
/// Decodes image files the way training and serving both read them: the header first (the pixel count checked against
/// a limit before anything is allocated, so a 177-byte file that claims 50 000 × 50 000 pixels costs nothing), then
/// the pixels at the smallest scale that still covers the side the network needs — JPEGs through libjpeg-turbo's DCT
/// scaling at 1/8, 1/4 or 1/2 (a 12-megapixel photo for a 224 px network decodes at 504 × 378, several times faster
/// than in full, as Pillow's <c>draft</c> does), other formats in full — and turned upright as the file's EXIF
/// orientation asks. The result is BGRA, premultiplied, without colour conversion: what ML.NET's LoadImages holds for
/// the same file when no scaling or turning applies, so ML.NET's resize then gives the same pixels.
/// A decode that does not reach the last row (a truncated or damaged file) is a problem, not a picture: SkiaSharp
/// would hand it back with the missing rows black.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The default limit on an image's pixel count: Pillow's (twice its <c>MAX_IMAGE_PIXELS</c>, where it
    /// refuses rather than warns), about 179 megapixels — a 13 378-pixel square, ten times a phone's 12-megapixel
    /// photo. A full decode of that many pixels takes 716 MB.</summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>The JPEG scales tried, smallest first (libjpeg-turbo's fast power-of-two paths).</summary>
    static readonly float[] JpegScales = [0.125f, 0.25f, 0.5f];

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
        if (stream.CanSeek && stream.Length == 0) return (null, "empty file");
        using var codec = SKCodec.Create(stream, out var opened);
        if (codec == null) return (null, opened == SKCodecResult.IncompleteInput && stream.CanSeek && stream.Length == 0 ? "empty file" : $"not a readable image ({Describe(opened)})");
        return Check(codec, maxPixels);
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
    public static DecodedImage Decode(Stream stream, int side, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 1);
        if (stream.CanSeek && stream.Length == 0) return DecodedImage.Failed("empty file");
        using var codec = SKCodec.Create(stream, out var opened);
        if (codec == null) return DecodedImage.Failed($"not a readable image ({Describe(opened)})");
        var (header, problem) = Check(codec, maxPixels);
        if (header == null) return DecodedImage.Failed(problem!);

        var size = ScaledSize(codec, side);
        var alpha = codec.Info.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : codec.Info.AlphaType; // as SKBitmap.Decode
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, alpha);
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            bitmap.Dispose();
            return DecodedImage.Failed($"{size.Width}×{size.Height} pixels could not be allocated");
        }
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
        {
            bitmap.Dispose();
            return DecodedImage.Failed(decoded is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? "truncated or damaged (its image data ends early)" : $"not a readable image ({Describe(decoded)})");
        }
        if (header.Turned)
        {
            var upright = Orientation.Upright(bitmap, header.Origin);
            if (!ReferenceEquals(upright, bitmap)) bitmap.Dispose();
            bitmap = upright;
        }
        return new DecodedImage(bitmap, header, null);
    }

    /// <summary>Why <paramref name="path"/> cannot be opened as an image file: missing, or not a plain file (a FIFO or
    /// device would block the read for ever or never end); null when it can.</summary>
    static string? NotAFile(string path)
    {
        if (!File.Exists(path)) return Directory.Exists(path) ? "a folder, not an image" : "missing";
        return FileStatus.Of(path) is { IsRegular: false } status ? $"{status.Kind}, not an image file" : null;
    }

    /// <summary>The smallest JPEG scale whose shorter side still covers <paramref name="side"/> (ML.NET's crop resize
    /// maps the shorter side onto it); the full size for other formats and for images no larger than that.</summary>
    public static SKSizeI ScaledSize(SKCodec codec, int side)
    {
        var full = codec.Info.Size;
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg) return full;
        foreach (var scale in JpegScales)
        {
            var size = codec.GetScaledDimensions(scale);
            if (Math.Min(size.Width, size.Height) >= side) return size;
        }
        return full;
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

using MlNetTransfer.Cli.Data;
using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.Cli.Commands;

/// <summary>
/// The image <c>predict -</c> reads from standard input, copied to a file (an image is read twice: its header, then its
/// pixels — a pipe cannot be read again) with the checks a file gets, made while the bytes arrive, so that a stream that
/// is no image cannot fill the disk: one that starts like no format the decoder knows is refused after its first
/// 64 KiB (<c>predict - &lt; /dev/zero</c> used to copy zeros until the disk was full), one whose header claims more than
/// <c>--max-image-pixels</c> is refused from its header, and none is copied past <see cref="MaxBytes"/> (more than any
/// image within the pixel limit takes, even uncompressed).
/// </summary>
internal static class StandardInputImage
{
    /// <summary>Bytes read before the start of the stream is judged: a JPEG's EXIF segment, before the frame header,
    /// is at most 64 KiB.</summary>
    internal const int HeadBytes = 64 * 1024;

    /// <summary>The most bytes copied: four per pixel at the limit (a 32-bit BMP), plus 16 MiB of metadata.</summary>
    internal static long MaxBytes(long maxPixels) => checked(4 * maxPixels) + (16L << 20);

    /// <summary>Copies <paramref name="input"/> to <paramref name="path"/>, or throws a <see cref="CliException"/>
    /// saying why the stream is no image to score.</summary>
    public static void Copy(Stream input, string path, long maxPixels)
    {
        long limit = MaxBytes(maxPixels), total = 0;
        var head = new MemoryStream();
        var buffer = new byte[81920];
        using var file = File.Create(path);
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            total += read;
            if (total > limit)
                throw new CliException(ExitCodes.UnreadableImages, $"-: standard input goes on past {limit / 1e6:0.#} MB, more than an image within " +
                    $"--max-image-pixels ({maxPixels / 1e6:0.#} megapixels) takes even uncompressed; stopped reading, nothing was scored.");
            file.Write(buffer, 0, read);
            if (head.Length < HeadBytes)
            {
                head.Write(buffer, 0, read);
                if (head.Length >= HeadBytes) Judge(head.ToArray(), maxPixels);
            }
        }
        // a shorter stream is whole: the decoder judges it as it judges a file
    }

    /// <summary>Throws when the first bytes of the stream already show it is no image to score; a stream that ends
    /// before its header does (the decoder asks for more) is let through, to be judged whole.</summary>
    static void Judge(byte[] head, long maxPixels)
    {
        using var stream = new SKMemoryStream(head); // Skia's own memory: no managed stream for a hostile header to turn (Imaging/SkiaReadStream)
        using var codec = SKCodec.Create(stream, out var opened);
        if (codec == null && opened == SKCodecResult.IncompleteInput) return;
        if (codec == null && Imaging.UndecodableFormat.Describe(head) is { } format)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is {format}; stopped reading, nothing was scored.");
        if (codec == null)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is not a readable image: its first {HeadBytes / 1024} KiB " +
                $"start like no image format ({(opened == SKCodecResult.Unimplemented ? "format not supported" : opened.ToString())}); stopped reading, nothing was scored.");
        var (_, problem) = ImageDecoder.ReadHeader(codec, maxPixels);
        if (problem != null)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is {problem}; stopped reading, nothing was scored.");
    }
}

using System.Buffers;
using System.Text.Unicode;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.Cli.Commands;

/// <summary>
/// What <c>predict -</c> reads from standard input — one image (<c>predict - &lt; photo.jpg</c>, an upload piped on) or
/// a list of images, as text (<c>find photos -name '*.jpg' | predict -</c>, <c>cat test.csv | predict -</c>) — copied
/// to a file (an image is read twice: its header, then its pixels — a pipe cannot be read again) with the checks a
/// file gets, made while the bytes arrive, so that a stream that is neither cannot fill the disk: one that starts like
/// no format the decoder knows and is not text is refused after its first 64 KiB (<c>predict - &lt; /dev/zero</c> used
/// to copy zeros until the disk was full), one whose header claims more than <c>--max-image-pixels</c> is refused from
/// its header, no image is copied past <see cref="MaxBytes"/> (more than any image within the pixel limit takes, even
/// uncompressed), and no list past <see cref="MaxListBytes"/>.
/// </summary>
internal static class StandardInputCopy
{
    /// <summary>What standard input held.</summary>
    public enum Kind { Image, List }

    /// <summary>Bytes read before the start of the stream is judged: a JPEG's EXIF segment, before the frame header,
    /// is at most 64 KiB.</summary>
    internal const int HeadBytes = 64 * 1024;

    /// <summary>The most bytes copied of an image: four per pixel at the limit (a 32-bit BMP), plus 16 MiB of metadata.</summary>
    internal static long MaxBytes(long maxPixels) => checked(4 * maxPixels) + (16L << 20);

    /// <summary>The most bytes copied of a list: about a million paths (<c>yes a.jpg | predict -</c> never ends).</summary>
    internal const long MaxListBytes = 64L << 20;

    /// <summary>Copies <paramref name="input"/> to <paramref name="path"/> and says whether it is an image or a list of
    /// images, or throws a <see cref="CliException"/> saying why the stream is neither.</summary>
    public static Kind Copy(Stream input, string path, long maxPixels)
    {
        long total = 0;
        Kind? kind = null;
        var head = new MemoryStream();
        var buffer = new byte[81920];
        using var file = File.Create(path);
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            total += read;
            if (kind == Kind.List && total > MaxListBytes)
                throw new CliException(ExitCodes.UnreadableCsv, $"-: the list of images on standard input goes on past {MaxListBytes >> 20} MiB " +
                    "(about a million paths); stopped reading, nothing was scored. Give so long a list as a file.");
            if (kind != Kind.List && total > MaxBytes(maxPixels))
                throw new CliException(ExitCodes.UnreadableImages, $"-: standard input goes on past {MaxBytes(maxPixels) / 1e6:0.#} MB, more than an image within " +
                    $"--max-image-pixels ({maxPixels / 1e6:0.#} megapixels) takes even uncompressed; stopped reading, nothing was scored.");
            file.Write(buffer, 0, read);
            if (head.Length < HeadBytes)
            {
                head.Write(buffer, 0, read);
                if (head.Length >= HeadBytes) kind = Judge(head.ToArray(), maxPixels);
            }
        }
        // a shorter stream is whole: text that no decoder and no named format claims (an SVG is text too) is a list,
        // anything else the decoder judges as it judges a file
        var whole = head.ToArray();
        return kind ?? (IsText(whole, complete: true) && UndecodableFormat.Describe(whole) == null && !Decodable(whole) ? Kind.List : Kind.Image);
    }

    /// <summary>The kind of stream whose first bytes are <paramref name="head"/>; throws when they already show it is
    /// neither. A stream that ends before its header does (the decoder asks for more) is let through as an image, to
    /// be judged whole.</summary>
    static Kind Judge(byte[] head, long maxPixels)
    {
        using var stream = new SKMemoryStream(head); // Skia's own memory: no managed stream for a hostile header to turn (Imaging/SkiaReadStream)
        using var codec = SKCodec.Create(stream, out var opened);
        if (codec == null && UndecodableFormat.Describe(head) is { } format)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is {format}; stopped reading, nothing was scored.");
        if (codec == null && IsText(head, complete: false)) return Kind.List; // whatever magic bytes its first path starts with ("BMW/…")
        if (codec == null && opened == SKCodecResult.IncompleteInput) return Kind.Image;
        if (codec == null)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is not a readable image: its first {HeadBytes / 1024} KiB " +
                $"start like no image format ({(opened == SKCodecResult.Unimplemented ? "format not supported" : opened.ToString())}) and are not " +
                $"a list of images either (text); stopped reading, nothing was scored.");
        var (_, problem) = ImageDecoder.ReadHeader(codec, maxPixels);
        if (problem != null)
            throw new CliException(ExitCodes.UnreadableImages, $"-: the image on standard input is {problem}; stopped reading, nothing was scored.");
        return Kind.Image;
    }

    /// <summary>Whether an image decoder takes <paramref name="bytes"/> for its format.</summary>
    static bool Decodable(byte[] bytes)
    {
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out _);
        return codec != null;
    }

    /// <summary>Whether <paramref name="bytes"/> are UTF-8 text (a byte order mark allowed) with no control character
    /// but tab, line feed, carriage return and form feed; of a stream's start (<paramref name="complete"/> false) the
    /// last character may be cut.</summary>
    internal static bool IsText(ReadOnlySpan<byte> bytes, bool complete)
    {
        if (bytes.IsEmpty) return false;
        foreach (var b in bytes)
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f') || b == 0x7F) return false;
        var chars = ArrayPool<char>.Shared.Rent(bytes.Length);
        try
        {
            var status = Utf8.ToUtf16(bytes, chars, out _, out _, replaceInvalidSequences: false, isFinalBlock: complete);
            return status == OperationStatus.Done || status == OperationStatus.NeedMoreData && !complete;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}

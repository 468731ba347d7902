using System.Text;

namespace MlNetTransfer.Imaging;

/// <summary>Files people bring as images that SkiaSharp cannot decode, told apart by their first bytes whatever their
/// name: an iPhone's HEIC photo, AVIF, TIFF scans and the camera RAW files built on TIFF, JPEG XL, JPEG 2000,
/// Photoshop documents — and what is not a picture at all (a PDF, an SVG drawing, an HTML page saved in place of a
/// download). Skia says only "InvalidInput" for each; this names the format and what to do.</summary>
public static class UndecodableFormat
{
    /// <summary>How many bytes of a file's start <see cref="Describe"/> looks at.</summary>
    public const int HeadBytes = 512;

    static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".heic"] = "HEIC", [".heif"] = "HEIF", [".avif"] = "AVIF", [".tif"] = "TIFF", [".tiff"] = "TIFF", [".jxl"] = "JPEG XL",
        [".jp2"] = "JPEG 2000", [".psd"] = "Photoshop", [".dng"] = "camera RAW", [".cr2"] = "camera RAW", [".cr3"] = "camera RAW",
        [".nef"] = "camera RAW", [".arw"] = "camera RAW", [".raf"] = "camera RAW", [".orf"] = "camera RAW", [".rw2"] = "camera RAW",
    };

    /// <summary>The format a file of extension <paramref name="extension"/> (".heic") holds when it is one of these, by
    /// its name alone (what a folder listing knows before reading a byte); null otherwise.</summary>
    public static string? OfExtension(string extension) => ByExtension.GetValueOrDefault(extension);

    // the signature boxes of JPEG 2000 (jP) and JPEG XL (JXL) files: a 12-byte box, then CR LF 0x87 LF
    static ReadOnlySpan<byte> Jp2Signature => [0, 0, 0, 12, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 13, 10, 0x87, 10];
    static ReadOnlySpan<byte> JxlSignature => [0, 0, 0, 12, (byte)'J', (byte)'X', (byte)'L', (byte)' ', 13, 10, 0x87, 10];

    const string ToJpeg = "convert it to JPEG first (ImageMagick: mogrify -format jpg FILE)";

    /// <summary>What the file starting with <paramref name="head"/> is and how to make it readable, as a problem
    /// ("a HEIC image (…), which SkiaSharp cannot decode: convert it …"); null when its bytes name no such format.</summary>
    public static string? Describe(ReadOnlySpan<byte> head) => Name(head) switch
    {
        null => null,
        ("HEIC" or "HEIF") and var heif => $"a {heif} image (as iPhones save photos), which SkiaSharp cannot decode: convert it to JPEG first " +
            "(heif-convert from libheif-examples, or ImageMagick: mogrify -format jpg FILE)",
        "PDF" => "a PDF document, not an image: export its pages as PNG first (pdftoppm -png from poppler-utils)",
        "SVG" => "an SVG drawing, which SkiaSharp does not decode as an image: render it as PNG first (rsvg-convert from librsvg2-bin)",
        "HTML" => "an HTML page, not an image (a download that saved the page instead of the picture?)",
        var name when name.StartsWith("camera RAW", StringComparison.Ordinal) =>
            $"a {name} file, which SkiaSharp cannot decode: develop it to JPEG first (darktable-cli, or ImageMagick: mogrify -format jpg FILE)",
        var name => $"{(name == "AVIF" ? "an" : "a")} {name} image, which SkiaSharp cannot decode: {ToJpeg}",
    };

    /// <summary>The format the bytes start like: "HEIC", "HEIF", "AVIF", "TIFF", "JPEG XL", "JPEG 2000", "Photoshop",
    /// "camera RAW (…)", "PDF", "SVG", "HTML"; null for anything else (the formats SkiaSharp reads among them).</summary>
    public static string? Name(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8))
            return head.Length >= 10 && head[8] == 'C' && head[9] == 'R' ? "camera RAW (Canon CR2)" : "TIFF";
        if (head.StartsWith("IIRO"u8) || head.StartsWith("IIRS"u8) || head.StartsWith("MMOR"u8)) return "camera RAW (Olympus ORF)";
        if (head.StartsWith("IIU\0"u8)) return "camera RAW (Panasonic RW2)";
        if (head.StartsWith("FUJIFILMCCD-RAW"u8)) return "camera RAW (Fujifilm RAF)";
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8)) return IsoMediaBrand(head);
        if (head.StartsWith(Jp2Signature) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51])) return "JPEG 2000";
        if (head.StartsWith(JxlSignature) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A])) return "JPEG XL";
        if (head.StartsWith("8BPS"u8)) return "Photoshop";
        if (head.StartsWith("%PDF-"u8)) return "PDF";
        return Markup(head);
    }

    /// <summary>An ISO media file's kind from its ftyp box: its major brand, then its compatible ones (an AVIF may say
    /// mif1 first).</summary>
    static string? IsoMediaBrand(ReadOnlySpan<byte> head)
    {
        int box = (int)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(head), (uint)head.Length);
        var brands = new List<string> { Encoding.ASCII.GetString(head[8..12]) };
        for (int i = 16; i + 4 <= box; i += 4) brands.Add(Encoding.ASCII.GetString(head[i..(i + 4)]));
        if (brands.Contains("crx ")) return "camera RAW (Canon CR3)";
        if (brands.Any(b => b is "avif" or "avis")) return "AVIF";
        if (brands.Any(b => b is "heic" or "heix" or "hevc" or "hevx" or "heim" or "heis")) return "HEIC";
        if (brands.Any(b => b is "mif1" or "msf1")) return "HEIF";
        return null; // a video (mp4, mov) or another ISO media file: not an image format, said no more precisely
    }

    /// <summary>Text that opens as SVG or HTML markup (after a byte-order mark, white space and an XML prologue).</summary>
    static string? Markup(ReadOnlySpan<byte> head)
    {
        var text = Encoding.UTF8.GetString(head.StartsWith("\uFEFF"u8) ? head[3..] : head).TrimStart();
        if (!text.StartsWith('<')) return null;
        if (text.Contains("<svg", StringComparison.OrdinalIgnoreCase)) return "SVG";
        if (text.StartsWith("<!doctype html", StringComparison.OrdinalIgnoreCase) || text.StartsWith("<html", StringComparison.OrdinalIgnoreCase))
            return "HTML";
        return null;
    }
}

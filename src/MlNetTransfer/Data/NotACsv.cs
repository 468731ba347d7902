using System.Text;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// What a file given where a CSV belongs (--data, --test) is, when it is not text: an archive of the images (a zip,
/// a tar, gzip, 7z, RAR), a spreadsheet workbook, an image — said with what to do instead, from its first bytes,
/// before a CSV parser reads it. Read as a CSV, a zip's first "line" was its header ("header 'pk' lacks the columns")
/// and a file with no line ends was read whole as one (600 MB of it took 2.6 GB and 19 s to refuse; a COCO
/// annotations file is a single line of 450 MB). `predict` names an archive given as its image the same way.
/// </summary>
public static class NotACsv
{
    internal const int Sniffed = 64 * 1024;

    /// <summary>NUL bytes a text file may hold in its first 64 KB and still be read as a CSV: a stray one is a damaged
    /// row, named by its line and skipped; a binary file holds hundreds (random bytes: one in 256).</summary>
    const int StrayNuls = 16;

    /// <summary>Why <paramref name="path"/> is not a CSV and what to give instead; null when it may be one (text,
    /// in any encoding a byte order mark names).</summary>
    public static string? Describe(string path)
    {
        var head = Head(path);
        var bytes = head.AsSpan();
        if (IsZip(bytes))
        {
            var text = Encoding.Latin1.GetString(bytes);
            if (text.Contains("[Content_Types].xml") && text.Contains("xl/"))
                return "an Excel workbook, not a CSV: save the sheet as CSV (File › Save As › CSV UTF-8) with filename and target columns, and give that";
            if (text.Contains("opendocument.spreadsheet"))
                return "an OpenDocument spreadsheet, not a CSV: save the sheet as CSV (File › Save As › Text CSV) with filename and target columns, and give that";
        }
        if (Archive(bytes, Path.GetFileName(path)) is { } archive)
            return $"{archive.Kind}, not a CSV: unpack it ({archive.Unpack}) and give the folder of class folders it holds, or the CSV with filename,target columns inside";
        if (bytes.StartsWith(new byte[] { 0xFF, 0xD8, 0xFF }) || bytes.StartsWith(new byte[] { 0x89, 0x50, 0x4E, 0x47 }) || bytes.StartsWith("GIF8"u8)
            || (bytes.StartsWith("RIFF"u8) && bytes.Length >= 12 && bytes.Slice(8, 4).SequenceEqual("WEBP"u8)))
            return "an image, not a CSV: give the folder of class folders the images are in, or a CSV that lists them with filename,target columns";
        if (bytes.StartsWith(new byte[] { 0xFF, 0xFE }) || bytes.StartsWith(new byte[] { 0xFE, 0xFF }))
            return null; // UTF-16 text, as its byte order mark says (NUL bytes in every other place)
        if (bytes.StartsWith(new byte[] { 0xEF, 0xBB, 0xBF })) bytes = bytes[3..];
        if (bytes.Count((byte)0) > StrayNuls)
            return "not a text file (it holds NUL bytes): a CSV is text, a header 'filename,target' and one row per image";
        var start = bytes.TrimStart(" \t\r\n"u8);
        if (start.Length > 0 && start[0] is (byte)'{' or (byte)'[')
            return "a JSON file, not a CSV (COCO-style annotations are not read): list the images in a CSV with filename,target columns, or sort them into a folder per class";
        if (head.Length == Sniffed && bytes.IndexOfAny((byte)'\n', (byte)'\r') < 0)
            return $"its first line runs past {Sniffed / 1024} KB, where a CSV starts with a header line such as 'filename,target'";
        return null;
    }

    /// <summary>The archive <paramref name="path"/> is and the command that unpacks it ("a zip archive",
    /// "unzip photos.zip -d photos"); null when it is none (a workbook is a zip, and an archive here).</summary>
    public static (string Kind, string Unpack)? Archive(string path) => Archive(Head(path), Path.GetFileName(path));

    static (string Kind, string Unpack)? Archive(ReadOnlySpan<byte> bytes, string name) =>
        IsZip(bytes) ? ("a zip archive", $"unzip {name} -d {Path.GetFileNameWithoutExtension(name)}")
        : bytes.StartsWith(new byte[] { 0x1F, 0x8B }) ? ("a gzip-compressed file", $"tar xzf {name}, or gunzip {name}")
        : bytes.Length >= 262 && bytes.Slice(257, 5).SequenceEqual("ustar"u8) ? ("a tar archive", $"tar xf {name}")
        : bytes.StartsWith(new byte[] { 0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C }) ? ("a 7-Zip archive", $"7z x {name}")
        : bytes.StartsWith("Rar!"u8) ? ("a RAR archive", $"unrar x {name}")
        : null;

    static bool IsZip(ReadOnlySpan<byte> bytes) => bytes.StartsWith("PK\u0003\u0004"u8) || bytes.StartsWith("PK\u0005\u0006"u8);

    /// <summary>The file's first <see cref="Sniffed"/> bytes (all of a shorter one).</summary>
    static byte[] Head(string path)
    {
        var head = new byte[Sniffed];
        using var file = File.OpenRead(path);
        return head[..file.ReadAtLeast(head, Sniffed, throwOnEndOfStream: false)];
    }
}

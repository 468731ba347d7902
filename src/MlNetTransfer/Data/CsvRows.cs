using FieldType = Microsoft.VisualBasic.FileIO.FieldType;
using MalformedLineException = Microsoft.VisualBasic.FileIO.MalformedLineException;
using TextFieldParser = Microsoft.VisualBasic.FileIO.TextFieldParser;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// The rows of a CSV that lists images, read one at a time: RFC 4180 (quoted fields may hold separators, quotes and
/// line breaks), fields trimmed, blank lines skipped, the separator and the image column (and the class column, where
/// one is needed) found in the header by <see cref="CsvColumns"/>. Whatever is wrong with the file — not a CSV at all
/// (<see cref="NotACsv"/>), a header without the columns, a row with more or fewer fields than the header, a quote
/// left open, a read that fails — is a <see cref="CliException"/> that names the file and the line.
/// </summary>
public sealed class CsvRows : IDisposable
{
    readonly TextFieldParser _parser;

    /// <summary>A list without a header: its first line, the first row <see cref="Next"/> returns.</summary>
    (long Line, string[] Cells)? _first;

    CsvRows(string csv, TextFieldParser parser, char separator, string[] header, int image, int? label)
    {
        Csv = csv;
        _parser = parser;
        Separator = separator;
        Header = header;
        Image = image;
        Label = label;
    }

    /// <summary>The CSV's full path.</summary>
    public string Csv { get; }

    public char Separator { get; }

    public string[] Header { get; }

    /// <summary>The image path column's position in <see cref="Header"/>.</summary>
    public int Image { get; }

    /// <summary>The class column's position in <see cref="Header"/>: always there when it was required, else where the
    /// CSV happens to hold one (null when it holds none).</summary>
    public int? Label { get; }

    /// <summary>Opens <paramref name="csv"/> (a full path) and reads its header; the class column is required unless
    /// <paramref name="requireLabel"/> is false (a list of images to score). Such a list may have no header where no
    /// column is named (paths one per line, as <c>find photos -name '*.jpg' &gt; list.txt</c> writes them): its image
    /// column is then the first whose first value names an image file.</summary>
    public static CsvRows Open(string csv, CsvColumns columns, bool requireLabel = true)
    {
        if (NotACsv.Describe(csv) is { } what) throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: {what}.");
        TextFieldParser? parser = null;
        try
        {
            parser = new TextFieldParser(csv) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = true };
            // the header line as written (NotACsv refused a longer one), before its fields are read by the separator it shows
            char separator = columns.SeparatorOf(parser.PeekChars(NotACsv.Sniffed) ?? "", requireLabel);
            parser.SetDelimiters(separator.ToString());
            var header = ReadFields(parser, csv) ?? throw new CliException(ExitCodes.UnreadableCsv,
                $"{csv}: empty; expected a header '{(requireLabel ? "filename,target" : "filename")}' and one row per image.");
            int image = columns.ImageIndex(header), label = columns.LabelIndex(header);
            (long, string[])? first = null;
            if (image < 0 && !requireLabel && !columns.Named
                && Array.FindIndex(header, f => LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(f))) is >= 0 and var listed)
            {
                (first, image, label) = ((1, header), listed, -1);
                header = [.. header.Select((_, i) => i == image ? "image" : $"column {i + 1}")];
            }
            if (image < 0 || requireLabel && (label < 0 || label == image))
                throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: {columns.Missing(header, separator, requireLabel)}.");
            var rows = new CsvRows(csv, parser, separator, header, image, label >= 0 && label != image ? label : null) { _first = first };
            parser = null;
            return rows;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(csv, e);
        }
        finally
        {
            parser?.Dispose();
        }
    }

    /// <summary>Whether <paramref name="csv"/> is a CSV whose header holds the image column and no class column: a list
    /// of images to score rather than to train or measure on.</summary>
    public static bool ListsImagesWithoutClasses(string csv, CsvColumns columns)
    {
        try
        {
            using var rows = Open(Path.GetFullPath(csv), columns, requireLabel: false);
            return rows.Label == null;
        }
        catch (CliException)
        {
            return false;
        }
    }

    /// <summary>The next row that is not blank with the line it starts on, or null at the end of the file.</summary>
    public (long Line, string[] Cells)? Next()
    {
        if (_first is { } first)
        {
            _first = null;
            return first;
        }
        while (true)
        {
            long line = _parser.LineNumber;
            var cells = ReadFields(_parser, Csv);
            if (cells == null) return null;
            if (cells.All(c => c.Length == 0)) continue;
            if (cells.Length != Header.Length)
                throw new CliException(ExitCodes.UnreadableCsv, $"{Csv}, line {line}: {cells.Length} fields, expected {Header.Length} " +
                    $"({LabelledImageSet.Quoted(string.Join(Separator, Header))}); quote a value that holds " +
                    $"{(Separator == ',' ? "a comma" : Separator == ';' ? "a semicolon" : "a tab")}.");
            return (line, cells);
        }
    }

    /// <summary>The image name the row <paramref name="cells"/> (on <paramref name="line"/>) gives; a row that gives
    /// none is refused by its line, and one whose name no file can have is added to <paramref name="skipped"/>, with
    /// why, and gives null.</summary>
    public string? ImageName(long line, string[] cells, ICollection<string> skipped)
    {
        var name = cells[Image];
        if (name.Length == 0)
            throw new CliException(ExitCodes.UnreadableCsv, $"{Csv}, line {line}: empty {Header[Image]}; every row names an image.");
        if (NotAFileName(name) is not { } why) return name;
        skipped.Add($"{Csv}, line {line}: {why}"); // skipped like a file that cannot be read
        return null;
    }

    /// <summary>Why no file can have the name <paramref name="name"/> a row gives: a NUL character, or a web address
    /// (data sets such as Open Images list their images by URL; nothing is downloaded here); null for a file name.</summary>
    static string? NotAFileName(string name) =>
        name.Contains('\0') ? $"the filename holds a NUL character ({LabelledImageSet.Quoted(name.Replace('\0', '\u2400'))}); no file can have that name"
        : Uri.TryCreate(name, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "ftp" or "s3" or "gs"
            ? $"{LabelledImageSet.Quoted(name)} is a web address, not a file: download the images first (wget -i, curl, azcopy) and list their paths"
            : null;

    /// <summary>A file name of the CSV as a full path, relative to the CSV's folder. A CSV written on Windows separates
    /// folders with backslashes, which elsewhere are characters of a file name: there they are read as separators
    /// unless a file of the name as written exists.</summary>
    public string PathOf(string name)
    {
        var root = Path.GetDirectoryName(Csv)!;
        var path = Path.GetFullPath(Path.Combine(root, name));
        if (Path.DirectorySeparatorChar == '\\' || !name.Contains('\\') || File.Exists(path)) return path;
        return Path.GetFullPath(Path.Combine(root, name.Replace('\\', '/')));
    }

    public void Dispose() => _parser.Dispose();

    static string[]? ReadFields(TextFieldParser parser, string csv)
    {
        try
        {
            return parser.ReadFields();
        }
        catch (MalformedLineException e)
        {
            throw new CliException(ExitCodes.UnreadableCsv, $"{csv}, line {e.LineNumber}: not valid CSV ('{LabelledImageSet.Quoted(parser.ErrorLine.Trim())}'); a quoted field must end with a quote.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(csv, e);
        }
    }

    static CliException Unreadable(string csv, Exception e) => new(ExitCodes.UnreadableCsv, $"{csv}: cannot be read ({e.Message}).");
}

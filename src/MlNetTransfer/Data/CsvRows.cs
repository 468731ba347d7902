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

    /// <summary>The folder, in full, the paths are relative to: the CSV's (a list on standard input: the current
    /// folder), or <see cref="CsvColumns.Root"/>.</summary>
    public string Root { get; }

    CsvRows(string csv, string root, TextFieldParser parser, char separator, string[] header, int image, int? label)
    {
        Csv = csv;
        Root = root;
        _parser = parser;
        Separator = separator;
        Header = header;
        Image = image;
        Label = label;
    }

    /// <summary>The CSV as messages name it: its full path, or what it was given as (standard input).</summary>
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
    /// column is then the first whose first value names an image file. A list copied from standard input is read from
    /// its copy <paramref name="csv"/>, named <paramref name="shownAs"/> and its paths relative to
    /// <paramref name="root"/> (the current folder) rather than to the copy's folder. <see cref="CsvColumns.Root"/>,
    /// where named, is the folder the paths are relative to in either case.</summary>
    public static CsvRows Open(string csv, CsvColumns columns, bool requireLabel = true, string? shownAs = null, string? root = null)
    {
        var file = csv;
        csv = shownAs ?? file;
        if (NotACsv.Describe(file) is { } what) throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: {what}.");
        TextFieldParser? parser = null;
        try
        {
            parser = new TextFieldParser(file) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = true };
            // the header line as written (NotACsv refused a longer one), before its fields are read by the separator it shows
            var firstLine = (parser.PeekChars(NotACsv.Sniffed) ?? "").Trim();
            char separator = columns.SeparatorOf(firstLine, requireLabel);
            root = columns.Root ?? root ?? Path.GetDirectoryName(file)!;
            if (!requireLabel && OnePathPerLine(firstLine, separator, root))
            {
                // each line whole, as find prints paths: a comma or a quote in a file's name is part of it (a column
                // named finds an image where it looks for a header, and says so)
                parser.HasFieldsEnclosedInQuotes = false;
                parser.SetDelimiters("\0");
            }
            else parser.SetDelimiters(separator.ToString());
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
            var rows = new CsvRows(csv, root, parser, separator, header, image, label >= 0 && label != image ? label : null) { _first = first };
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

    /// <summary>Whether a list without a header holds one path per line, each line whole (<c>find … &gt; list.txt</c>):
    /// its first line names an image file and holds no <paramref name="separator"/>, or is the name of a file under
    /// <paramref name="root"/> as a whole (<c>photos/a, b.jpg</c>) — a row of columns such as <c>Bag,a.jpg</c> is not.</summary>
    static bool OnePathPerLine(string firstLine, char separator, string root) =>
        LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(firstLine))
        && (!firstLine.Contains(separator) || File.Exists(Path.Combine(root, firstLine)));

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

    /// <summary>A file name of the CSV as a full path, relative to <see cref="Root"/>; a name without an extension whose
    /// file does not exist is the one image file of that name and an image extension, where there is one
    /// (<see cref="ExtensionsAdded"/>). A CSV written on Windows separates
    /// folders with backslashes, which elsewhere are characters of a file name: there they are read as separators
    /// unless a file of the name as written exists.</summary>
    public string PathOf(string name)
    {
        var path = Path.GetFullPath(Path.Combine(Root, name));
        if (Path.DirectorySeparatorChar != '\\' && name.Contains('\\') && !File.Exists(path))
            path = Path.GetFullPath(Path.Combine(Root, name.Replace('\\', '/')));
        if (Path.GetExtension(name).Length > 0 || File.Exists(path) || WithImageExtension(path) is not { } found) return path;
        ExtensionsAdded = ExtensionsAdded with { Count = ExtensionsAdded.Count + 1, Example = ExtensionsAdded.Example ?? $"{name} → {Path.GetFileName(found)}" };
        return found;
    }

    /// <summary>The rows whose name has no extension and whose file was read as the one image file of that name and an
    /// image extension (Kaggle-style ids: <c>000bec18</c> for <c>train/000bec18.jpg</c>), and the first of them.</summary>
    public (int Count, string? Example) ExtensionsAdded { get; private set; }

    /// <summary><paramref name="path"/> with the one image extension (<see cref="LabelledImageSet.ImageExtensions"/>, lower
    /// or upper case) that makes it a file; null when none or more than one does.</summary>
    internal static string? WithImageExtension(string path)
    {
        var found = LabelledImageSet.ImageExtensions.SelectMany(e => new[] { e, e.ToUpperInvariant() })
            .Select(e => path + e).Where(File.Exists).Take(2).ToList();
        return found.Count == 1 ? found[0] : null;
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

using System.Text.Json.Serialization;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Which columns of a CSV of labelled images hold the image path and the class, and what separates the fields. The
/// columns are <see cref="Image"/> and <see cref="Label"/> when given (<c>--image-column</c>, <c>--label-column</c>),
/// else the first present of <see cref="ImageNames"/> and of <see cref="LabelNames"/>: the CLI's own
/// <c>filename,target</c>, or ML.NET's <c>ImagePath,Label</c> (the names its samples and this pipeline's columns
/// take); any case. The separator is the first of comma, tab and semicolon (a spreadsheet's CSV in locales whose
/// decimal mark is a comma) by which the header holds both columns.
/// </summary>
/// <param name="Image">The image path column's name as given, or null for the defaults.</param>
/// <param name="Label">The class column's name as given, or null for the defaults.</param>
/// <param name="Root">The folder, in full, that the image paths are relative to (<c>--image-root</c>: a Kaggle-style
/// train.csv beside its train_images/ folder), or null for the CSV's own folder.</param>
public sealed record CsvColumns(string? Image = null, string? Label = null, string? Root = null)
{
    public static readonly CsvColumns Default = new();

    /// <summary>The image path column's default names, in the order they are looked for.</summary>
    public static readonly IReadOnlyList<string> ImageNames = ["filename", "ImagePath"];

    /// <summary>The class column's default names, in the order they are looked for.</summary>
    public static readonly IReadOnlyList<string> LabelNames = ["target", "Label"];

    static readonly char[] Separators = [',', '\t', ';'];

    /// <summary>Whether a column was named (on the command line), rather than the defaults taken.</summary>
    [JsonIgnore]
    public bool Named => Image != null || Label != null;

    /// <summary>The separator of a CSV whose first line is <paramref name="headerLine"/>: the first by which it holds
    /// both columns (the image column alone, for a list of images to score: <paramref name="withLabel"/> false), else
    /// the one it holds most of (a comma among equals), for the message that says what is missing.</summary>
    public char SeparatorOf(string headerLine, bool withLabel = true)
    {
        foreach (var separator in Separators)
        {
            var header = headerLine.Split(separator).Select(f => f.Trim().Trim('"')).ToList();
            if (withLabel ? Find(header) != null : ImageIndex(header) >= 0) return separator;
        }
        return Separators.MaxBy(s => headerLine.Count(c => c == s));
    }

    /// <summary>The positions of the image and class columns in <paramref name="header"/>; null when either is missing.</summary>
    public (int Image, int Label)? Find(IReadOnlyList<string> header)
    {
        int image = ImageIndex(header), label = LabelIndex(header);
        return image < 0 || label < 0 || image == label ? null : (image, label);
    }

    /// <summary>The image column's position in <paramref name="header"/>; −1 when there is none.</summary>
    public int ImageIndex(IReadOnlyList<string> header) => IndexOf(header, Image, ImageNames);

    /// <summary>The class column's position in <paramref name="header"/>; −1 when there is none.</summary>
    public int LabelIndex(IReadOnlyList<string> header) => IndexOf(header, Label, LabelNames);

    /// <summary>The position of <paramref name="given"/> in <paramref name="header"/>, or without it of the first of
    /// <paramref name="names"/> there is (any case); −1 when there is none.</summary>
    static int IndexOf(IReadOnlyList<string> header, string? given, IReadOnlyList<string> names) =>
        (given != null ? [given] : names)
        .Select(name => Enumerable.Range(0, header.Count).FirstOrDefault(i => string.Equals(header[i], name, StringComparison.OrdinalIgnoreCase), -1))
        .FirstOrDefault(i => i >= 0, -1);

    /// <summary>Why <paramref name="header"/> (read with <paramref name="separator"/>) gives no image or no class
    /// column (no image column, where <paramref name="withLabel"/> is false), with the options that would name them (a
    /// column that looks like one filled in).</summary>
    public string Missing(IReadOnlyList<string> header, char separator, bool withLabel = true)
    {
        int image = ImageIndex(header), label = LabelIndex(header);
        if (withLabel && image >= 0 && image == label) return $"'{header[image]}' is named as both the image and the class column; name two columns";
        var missing = new List<(string What, string Option)>();
        if (image < 0)
            missing.Add(($"image column ({Names(Image, ImageNames, "--image-column")})",
                $"--image-column {Like(header, "image", "image_path", "img", "path", "file", "filepath", "file_path", "file_name", "photo", "picture")}"));
        if (withLabel && label < 0)
            missing.Add(($"class column ({Names(Label, LabelNames, "--label-column")})",
                $"--label-column {Like(header, "labels", "class", "class_name", "classname", "category", "species")}"));
        var join = separator == '\t' ? "<tab>" : separator.ToString();
        var shown = LabelledImageSet.Quoted(string.Join(join, header));
        if (header.Any(h => LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(h)))) // ML.NET's older samples list images so
            return withLabel
                ? $"the first line '{shown}' is an image and its class, not a header: add a first line that names the columns, such as 'ImagePath{join}Label'"
                : $"the first line '{shown}' is an image, not a header: add a first line that names the image column, such as 'ImagePath'";
        return $"header '{shown}' has no {string.Join(" and no ", missing.Select(m => m.What))}; name {(missing.Count == 1 ? "it" : "them")}: " +
               string.Join(" ", missing.Select(m => m.Option));
    }

    static string Names(string? given, IReadOnlyList<string> defaults, string option) =>
        given != null ? $"'{given}', as {option} says" : string.Join(" or ", defaults.Select(d => $"'{d}'"));

    /// <summary>The first column of <paramref name="header"/> among <paramref name="names"/> as a shell argument
    /// (quoted when it holds a space), or &lt;NAME&gt; when there is none.</summary>
    static string Like(IReadOnlyList<string> header, params string[] names) =>
        IndexOf(header, null, names) is >= 0 and var i ? (header[i].Any(char.IsWhiteSpace) ? $"\"{header[i]}\"" : header[i]) : "<NAME>";
}

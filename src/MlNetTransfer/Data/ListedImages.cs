namespace MlNetTransfer.Cli.Data;

/// <summary>
/// The images a CSV lists for scoring (<c>predict list.csv</c>: a Kaggle-style test.csv, or a labelled CSV whose
/// classes are not needed): one per row, in the list's order, repeats included, so that the scores line up with the
/// rows; paths relative to the CSV's folder. The image column is found as in a CSV of labelled images
/// (<see cref="CsvColumns"/>); a class column is not needed, and is named when there is one. A row naming no file
/// is refused by its line; one whose name no file can have (a NUL character, a web address) is skipped with why.
/// </summary>
/// <param name="Images">Each row's image: its path as listed, and that path in full.</param>
/// <param name="LabelColumn">The CSV's class column, where it has one (evaluate would read it).</param>
/// <param name="Skipped">Rows skipped, with why.</param>
/// <param name="Root">The folder, in full, its paths start from (<see cref="CsvRows.Root"/>).</param>
/// <param name="ExtensionsAdded">The rows that name their image without its extension (<see cref="CsvRows.ExtensionsAdded"/>).</param>
public sealed record ListedImages(IReadOnlyList<ListedImages.Image> Images, string? LabelColumn, IReadOnlyList<string> Skipped, string Root,
    (int Count, string? Example) ExtensionsAdded)
{
    /// <summary>A row's image: the path as the CSV lists it and that path in full.</summary>
    public sealed record Image(string Listed, string Path);

    /// <summary>Reads the list at <paramref name="csv"/>; <paramref name="columns"/> names its image column (a class
    /// column named there is only looked for). A list that came on standard input is read from its copy, named
    /// <paramref name="shownAs"/>, its paths relative to <paramref name="root"/> (<see cref="CsvRows.Open"/>).</summary>
    public static ListedImages FromCsv(string csv, CsvColumns columns, string? shownAs = null, string? root = null)
    {
        var images = new List<Image>();
        var skipped = new List<string>();
        using var rows = CsvRows.Open(Path.GetFullPath(csv), columns, requireLabel: false, shownAs, root);
        while (rows.Next() is (long line, string[] cells))
        {
            if (rows.ImageName(line, cells, skipped) is { } name) images.Add(new Image(name, rows.PathOf(name)));
        }
        if (images.Count == 0 && skipped.Count == 0)
            throw new CliException(ExitCodes.EmptyData, $"{rows.Csv}: a header and no rows; list one image per row under '{rows.Header[rows.Image]}'.");
        return new ListedImages(images, rows.Label is { } label ? rows.Header[label] : null, skipped, rows.Root, rows.ExtensionsAdded);
    }
}

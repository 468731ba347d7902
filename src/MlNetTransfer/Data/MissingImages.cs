namespace MlNetTransfer.Cli.Data;

/// <summary>
/// What to say when none of the images a CSV lists is where its paths lead: where it looked, and where the files are
/// when a folder near the CSV holds them. The layout most labelled CSVs come in — Kaggle's train.csv beside a
/// train_images/ or train/ folder, names without the folder — read relative to the CSV's folder finds nothing, and
/// "missing" for every row does not say why; this looks in the folders below the CSV's (two levels), in the folder
/// above it and that folder's own, and names the one that holds the first listed files, with the option that reads
/// them from there (<c>--image-root</c>).
/// </summary>
public static class MissingImages
{
    /// <summary>How many of the listed names are looked for, and how many folders at most.</summary>
    const int Sample = 20, MaxFolders = 400;

    /// <summary>Whether none of <paramref name="paths"/> (full paths, as listed rows resolve) exists; false for none listed.</summary>
    public static bool All(IReadOnlyCollection<string> paths) => paths.Count > 0 && paths.All(p => !File.Exists(p) && !Directory.Exists(p));

    /// <summary>"none of the 16 images it lists is where its paths lead: they are read from /data (/data/a.jpg is
    /// missing); they are in /data/train_images: add --image-root /data/train_images" — for a CSV whose
    /// rows name <paramref name="names"/> (as listed) relative to <paramref name="root"/>.</summary>
    public static string Describe(string root, IReadOnlyList<string> names)
    {
        var first = names[0];
        if (Path.IsPathRooted(first))
            return $"none of the {names.Count} images it lists exists: its paths are full paths ({LabelledImageSet.Quoted(first)}), perhaps from " +
                   "another machine; list them relative to a folder and name that folder with --image-root";
        var said = $"none of the {names.Count} images it lists is where its paths lead: they are read from {root} " +
                   $"({Path.Combine(root, first)} is missing)";
        var sample = names.Take(Sample).ToList();
        var holding = Folders(root).Select(folder => (Folder: folder, Found: sample.Count(n => Holds(folder, n)))).Where(f => f.Found > 0).ToList();
        var best = holding.Count > 0 ? holding.MaxBy(f => f.Found) : default; // the first of equals: the nearest
        return best.Folder != null && 2 * best.Found >= sample.Count
            ? $"{said}; {(best.Found < sample.Count ? $"{best.Found} of the first {sample.Count} are" : sample.Count < names.Count ? $"the first {sample.Count} are all" : "they are")} " +
              $"in {best.Folder}: add --image-root {best.Folder}"
            : $"{said}; --image-root <folder> names the folder they start from";
    }

    /// <summary>Whether <paramref name="folder"/> holds the file <paramref name="name"/> names, as named or, named
    /// without an extension, with an image's (as <see cref="CsvRows.PathOf"/> reads it).</summary>
    static bool Holds(string folder, string name)
    {
        var path = Path.Combine(folder, name);
        return File.Exists(path) || Path.GetExtension(name).Length == 0 && CsvRows.WithImageExtension(path) != null;
    }

    /// <summary>The folders to look in, nearest first: those below <paramref name="root"/> (two levels), the one above
    /// it and that one's own; hidden ones left alone, at most <see cref="MaxFolders"/>.</summary>
    static IEnumerable<string> Folders(string root)
    {
        var below = Below(root, 2);
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root));
        var above = parent == null ? [] : new[] { parent }.Concat(Below(parent, 1).Where(f => f != Path.TrimEndingDirectorySeparator(root)));
        return below.Concat(above).Take(MaxFolders);
    }

    static IEnumerable<string> Below(string folder, int levels)
    {
        var level = new List<string> { folder };
        for (int depth = 0; depth < levels && level.Count > 0; depth++)
        {
            level = [.. level.SelectMany(Subfolders).Take(MaxFolders)];
            foreach (var sub in level) yield return sub;
        }
    }

    static IEnumerable<string> Subfolders(string folder)
    {
        try
        {
            return Directory.EnumerateDirectories(folder).Where(d => !HiddenEntries.IsHidden(Path.GetFileName(d))).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

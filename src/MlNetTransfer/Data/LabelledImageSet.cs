using Microsoft.ML.Data;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Labelled images from a folder with one sub-folder per class (Model Builder's convention) or from a CSV with
/// <c>filename,target</c> columns (paths relative to the CSV's folder). Every image is opened once up front: a
/// missing or undecodable file is reported by name and skipped, or fails the command with <c>--strict</c>.
/// </summary>
public sealed class LabelledImageSet
{
    /// <summary>The file extensions treated as images, in folders given to train, evaluate and predict.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    LabelledImageSet(string source, string root, List<LabelledImage> rows, List<string> skipped)
    {
        Source = source; Root = root; Rows = rows; Skipped = skipped;
        Classes = rows.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The folder or CSV the set was read from.</summary>
    public string Source { get; }

    /// <summary>The folder image paths are relative to.</summary>
    public string Root { get; }

    public IReadOnlyList<LabelledImage> Rows { get; }

    /// <summary>"file: reason" for every image left out.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>Class names in ordinal order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The rows at <paramref name="indices"/> (skipped images stay with the whole set).</summary>
    public LabelledImageSet Subset(IEnumerable<long> indices) =>
        new(Source, Root, indices.Select(i => Rows[(int)i]).ToList(), []);

    public static LabelledImageSet Load(string path, bool strict, bool requireTwoClasses = true)
    {
        LabelledImageSet set;
        if (Directory.Exists(path)) set = FromFolder(Path.GetFullPath(path));
        else if (File.Exists(path)) set = FromCsv(Path.GetFullPath(path));
        else throw new CliException(ExitCodes.DataNotFound, $"{path}: no such folder or CSV file.");

        if (strict && set.Skipped.Count > 0)
            throw new CliException(ExitCodes.UnreadableImages,
                $"{set.Skipped.Count} image(s) in {path} could not be read (--strict): {string.Join("; ", set.Skipped.Take(5))}");
        if (set.Rows.Count == 0)
            throw new CliException(ExitCodes.EmptyData, $"{path}: no readable images" + (set.Skipped.Count > 0 ? $" ({set.Skipped.Count} unreadable)." : "."));
        if (requireTwoClasses && set.Classes.Count < 2)
            throw new CliException(ExitCodes.SingleClass, $"{path}: only one class ({set.Classes[0]}); a classifier needs at least two.");
        return set;
    }

    static LabelledImageSet FromFolder(string folder)
    {
        var classFolders = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToList();
        if (classFolders.Count == 0)
            throw new CliException(ExitCodes.EmptyData, $"{folder}: no class sub-folders; expected one folder per class with images in it, or a CSV with filename,target.");
        var candidates = classFolders.SelectMany(dir => Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
                .Where(f => ImageExtensions.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => (Path: f, Label: Path.GetFileName(dir))))
            .ToList();
        return Check(folder, folder, candidates);
    }

    static LabelledImageSet FromCsv(string csv)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(csv);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: cannot be read ({e.Message}).");
        }
        if (lines.Length == 0)
            throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: empty; expected a header 'filename,target' and one row per image.");
        var header = lines[0].Split(',').Select(h => h.Trim().Trim('"').ToLowerInvariant()).ToList();
        int file = header.IndexOf("filename"), target = header.IndexOf("target");
        if (file < 0 || target < 0)
            throw new CliException(ExitCodes.UnreadableCsv, $"{csv}: header '{lines[0]}' lacks the columns 'filename' and 'target'.");
        var root = Path.GetDirectoryName(csv)!;
        var candidates = new List<(string Path, string Label)>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var cells = lines[i].Split(',');
            if (cells.Length != header.Count)
                throw new CliException(ExitCodes.UnreadableCsv, $"{csv}, line {i + 1}: {cells.Length} fields, expected {header.Count} ('{lines[i]}').");
            var name = cells[file].Trim().Trim('"');
            var label = cells[target].Trim().Trim('"');
            if (label.Length == 0)
                throw new CliException(ExitCodes.UnreadableCsv, $"{csv}, line {i + 1}: empty target for {name}.");
            candidates.Add((Path.GetFullPath(Path.Combine(root, name)), label));
        }
        return Check(csv, root, candidates);
    }

    static LabelledImageSet Check(string source, string root, List<(string Path, string Label)> candidates)
    {
        var rows = new List<LabelledImage>();
        var skipped = new List<string>();
        foreach (var (path, label) in candidates)
        {
            var problem = Probe(path);
            if (problem != null) skipped.Add($"{Path.GetRelativePath(root, path)}: {problem}");
            else rows.Add(new LabelledImage { ImagePath = Path.GetRelativePath(root, path), Label = label });
        }
        return new LabelledImageSet(source, root, rows, skipped);
    }

    static string? Probe(string path)
    {
        if (!File.Exists(path)) return "missing";
        try
        {
            using var image = MLImage.CreateFromFile(path);
            return image.Width > 0 && image.Height > 0 ? null : "empty image";
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or NotSupportedException)
        {
            return "not a readable image";
        }
    }
}

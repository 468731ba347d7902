namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Recognises a data set's root given where a folder of class folders is expected: its folders are named like splits
/// (train, test, validation ...) and hold class folders of their own and no image. Read as classes, they would train a
/// classifier of "train" against "test" — a model that looks trained and means nothing.
/// </summary>
public static class SplitFolders
{
    static readonly HashSet<string> Names = new(StringComparer.OrdinalIgnoreCase)
        { "train", "training", "test", "testing", "val", "valid", "validation", "dev", "eval", "evaluation" };

    /// <summary>What to say when the <paramref name="classFolders"/> of <paramref name="folder"/> are splits; null when
    /// they are not.</summary>
    public static string? Problem(string folder, IReadOnlyList<string> classFolders)
    {
        if (classFolders.Count == 0 || !classFolders.All(f => Names.Contains(Path.GetFileName(f)))) return null;
        if (!classFolders.All(f => Directory.EnumerateDirectories(f).Any()
                && !Directory.EnumerateFiles(f).Any(file => LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(file)))))
            return null;
        var classes = classFolders.SelectMany(Directory.EnumerateDirectories).Select(d => Path.GetFileName(d)!)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        string? Split(params string[] prefixes) =>
            classFolders.FirstOrDefault(f => prefixes.Any(p => Path.GetFileName(f).StartsWith(p, StringComparison.OrdinalIgnoreCase)));
        var (train, test) = (Split("train"), Split("test", "val", "eval", "dev"));
        var example = train != null ? $"train --data {train}" + (test != null ? $" --test {test}" : "") : $"--data {classFolders[0]}";
        return $"{folder}: its folders {string.Join(", ", classFolders.Select(Path.GetFileName))} look like the splits of a data set, each " +
            $"with class folders inside ({string.Join(", ", classes.Take(5))}{(classes.Count > 5 ? $" and {classes.Count - 5} more" : "")}), " +
            $"not like classes; name a split itself, e.g. {example}.";
    }
}

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Images without classes where test images are checked (<c>check --test</c>): a folder of images with no class
/// folders (a Kaggle-style <c>test/</c>), or a list of images without a class column (<see cref="ListedImages"/>:
/// a test.csv, paths one per line). Copies of training images and images unlike every training image need no class,
/// so they are checked like labelled test images; each image carries the training data's first class as a stand-in
/// label that nothing reads (the checks key their rows by the training classes), and what they flag says no class.
/// Where classes are needed (train, evaluate), such a set is named for what it is (<see cref="Describe"/>).
/// </summary>
public static class UnlabelledImages
{
    /// <summary>The images at <paramref name="path"/> with <paramref name="standIn"/> as each one's label, their
    /// headers checked as any set's are (rows a list skips, a name no file can have, among its skipped images); null
    /// when <paramref name="path"/> is a set of labelled images (class folders, a CSV with a class column) or nothing
    /// that exists.</summary>
    public static LabelledImageSet? Load(string path, CsvColumns columns, string standIn, bool strict, long maxPixels)
    {
        if (Directory.Exists(path))
        {
            var folder = Path.GetFullPath(path);
            var images = FlatImages(folder).Select(f => (Path.GetRelativePath(folder, f), standIn)).ToList();
            return images.Count == 0 ? null : LabelledImageSet.FromList(folder, folder, images, strict, maxPixels);
        }
        if (!File.Exists(path) || !CsvRows.ListsImagesWithoutClasses(path, columns)) return null;
        var list = ListedImages.FromCsv(path, columns);
        var csv = Path.GetFullPath(path);
        var root = Path.GetDirectoryName(csv)!;
        return LabelledImageSet.FromList(csv, root, list.Images.DistinctBy(i => i.Path).Select(i => (Path.GetRelativePath(root, i.Path), standIn)),
            strict, maxPixels, list.Skipped);
    }

    /// <summary>What <paramref name="path"/> is when it holds images without classes ("a folder of 60 images without
    /// class folders", "a list of images without a class column"), for the refusal of a command that needs classes;
    /// null otherwise, and where a class column was named (the message that it is missing says more).</summary>
    public static string? Describe(string path, CsvColumns columns)
    {
        if (Directory.Exists(path))
            return FlatImages(Path.GetFullPath(path)).Count is > 0 and var count ? $"a folder of {count} image(s) without class folders" : null;
        return columns.Label == null && File.Exists(path) && CsvRows.ListsImagesWithoutClasses(path, columns) ? "a list of images without a class column" : null;
    }

    /// <summary>The images in <paramref name="folder"/> when it has no class folders (hidden ones aside); none otherwise.</summary>
    static IReadOnlyList<string> FlatImages(string folder) =>
        Directory.EnumerateDirectories(folder).Any(d => !HiddenEntries.IsHidden(Path.GetFileName(d))) ? []
            : [.. ClassFolderFiles.FilesUnder(folder).Where(f => LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal)];
}

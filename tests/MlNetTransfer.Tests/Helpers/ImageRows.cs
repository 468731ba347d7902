namespace MlNetTransfer.Tests;

/// <summary>A row of an image table: a path relative to the image folder and its class.</summary>
public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";

    /// <summary>data-samples/fashion-mnist/&lt;split&gt; as rows with paths relative to <see cref="Root"/>, in file-name
    /// order (which interleaves the classes).</summary>
    public static List<ImageRow> Samples(string split, int? perClass = null)
    {
        var root = Path.Combine(TestPaths.DataSamples, "fashion-mnist", split);
        return Directory.GetDirectories(root)
            .SelectMany(folder => Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal).Take(perClass ?? int.MaxValue)
                .Select(file => new ImageRow { ImagePath = Path.GetRelativePath(Root, file), Label = Path.GetFileName(folder) }))
            .OrderBy(r => Path.GetFileName(r.ImagePath), StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The folder LoadImages resolves <see cref="ImagePath"/> against.</summary>
    public static string Root => Path.Combine(TestPaths.DataSamples, "fashion-mnist");
}

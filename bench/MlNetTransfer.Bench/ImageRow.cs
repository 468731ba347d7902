namespace MlNetTransfer.Bench;

/// <summary>An image path relative to the sample root and its class.</summary>
public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";

    /// <summary>The same rows with paths rooted at <paramref name="root"/> (ML.NET reading them without an image folder).</summary>
    public static List<ImageRow> Under(string root, IReadOnlyList<ImageRow> rows) =>
        rows.Select(r => new ImageRow { ImagePath = Path.Combine(root, r.ImagePath), Label = r.Label }).ToList();

    public static List<ImageRow> Load(string root, string split) =>
        Directory.GetFiles(Path.Combine(root, split), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => new ImageRow { ImagePath = Path.GetRelativePath(root, f), Label = Path.GetFileName(Path.GetDirectoryName(f))! })
            .ToList();
}

namespace MlNetTransfer.Bench;

/// <summary>An image path relative to the sample root and its class.</summary>
public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";

    public static List<ImageRow> Load(string root, string split) =>
        Directory.GetFiles(Path.Combine(root, split), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => new ImageRow { ImagePath = Path.GetRelativePath(root, f), Label = Path.GetFileName(Path.GetDirectoryName(f))! })
            .ToList();
}

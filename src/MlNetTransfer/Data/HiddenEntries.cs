namespace MlNetTransfer.Cli.Data;

/// <summary>
/// What a folder of images holds that nobody put there as data: entries whose name starts with a dot (Jupyter's
/// <c>.ipynb_checkpoints</c>, thumbnail caches such as <c>.thumbnails</c>, macOS's <c>._photo.jpg</c> resource forks)
/// and the <c>__MACOSX</c> folder of a zip made on a Mac. Read as data, a checkpoint folder of images became a class
/// and a class's thumbnail cache trained as more images of that class.
/// </summary>
public static class HiddenEntries
{
    /// <summary>Whether a file or folder named <paramref name="name"/> is left alone.</summary>
    public static bool IsHidden(string name) => name.StartsWith('.') || name == "__MACOSX";
}

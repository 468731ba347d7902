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

    /// <summary>The folder, relative to <paramref name="root"/> and '/'-separated, of the first hidden folder on the
    /// way from <paramref name="root"/> to <paramref name="file"/>; null when there is none.</summary>
    public static string? HiddenFolder(string root, string file)
    {
        var parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
        for (int i = 0; i < parts.Length - 1; i++)
            if (IsHidden(parts[i])) return string.Join('/', parts[..(i + 1)]);
        return null;
    }

    /// <summary>Whether <paramref name="file"/> is hidden itself or lies in a hidden folder under
    /// <paramref name="root"/>.</summary>
    public static bool IsHiddenUnder(string root, string file) =>
        IsHidden(Path.GetFileName(file)) || HiddenFolder(root, file) != null;
}

namespace MlNetTransfer;

/// <summary>Writes a file whole or not at all: a sibling temporary file, then a rename over the target.</summary>
public static class AtomicFile
{
    public static string Write(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>Lets <paramref name="write"/> fill a temporary path, then moves it to <paramref name="path"/>.</summary>
    public static string Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, StaleFiles.TempSiblingName(Path.GetFileName(full))); // named after this process: a later run removes it if this one is killed
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
            return full;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

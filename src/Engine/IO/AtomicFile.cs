namespace MlNetTransfer;

/// <summary>Writes a file whole or not at all: a sibling temporary file, then a rename over the target.</summary>
public static class AtomicFile
{
    public static string Write(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>Starts <paramref name="write"/> on a temporary sibling of <paramref name="path"/> in the background:
    /// <see cref="Pending.Commit"/> waits for it and moves it over the target; disposing without a commit removes it,
    /// so a run that fails meanwhile leaves the target as it was.</summary>
    public static Pending WriteInBackground(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, StaleFiles.TempSiblingName(Path.GetFileName(full)));
        return new Pending(full, temp, Task.Run(() => write(temp)));
    }

    /// <summary>A write in progress to a temporary sibling (<see cref="WriteInBackground"/>).</summary>
    public sealed class Pending(string path, string temp, Task writing) : IDisposable
    {
        bool _committed;

        /// <summary>Waits for the write (its failure is thrown here) and moves the file over the target.</summary>
        public string Commit()
        {
            writing.GetAwaiter().GetResult();
            File.Move(temp, path, overwrite: true);
            _committed = true;
            return path;
        }

        public void Dispose()
        {
            if (_committed) return;
            try
            {
                writing.Wait();
            }
            catch (AggregateException)
            {
                // the run failed before the commit: what was written is removed below, whatever became of it
            }
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

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

using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Folder and file options a command writes to (train's --out and --cache-dir, job export's and import's --out;
/// predict's --csv, evaluate's --json, export's --onnx).</summary>
public static class FolderOption
{
    /// <summary>A folder option (--out, --cache-dir) must take files before any work: created if missing and written to
    /// once (then cleaned); otherwise exit 8 naming the option. Returns the full path.</summary>
    public static string Writable(string given, string option) => Writable(Path.GetFullPath(given), given, option, "a folder this user can write to");

    /// <summary>The lock a command keeps on an output folder while it writes there (flock through FileShare.None,
    /// dropped by the kernel however the process ends); a second command on the same folder is refused, exit 8.</summary>
    public static IDisposable LockForWriting(string folder, string option)
    {
        var path = Path.Combine(folder, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new CliException(ExitCodes.BadOption, $"{option} {folder}: another run is writing there now ({LockFileName} is locked); wait for it to end, or choose another folder.");
        }
    }

    /// <summary>The lock file in an output folder (hidden: never read as an image or a class).</summary>
    public const string LockFileName = ".mlnettransfer.lock";

    /// <summary>Refuses an --out inside a class folder of a --data folder: what train writes there (a model, charts)
    /// would change that class for the next run (its folder read as train's output and left alone). A new folder at
    /// the data's top is fine: it is left alone as train's output.</summary>
    public static void OutsideClassFolders(string output, string data, string option)
    {
        if (!Directory.Exists(data) || PathUnder(output, data) is not { } relative || relative == ".") return;
        var first = relative.Split(Path.DirectorySeparatorChar)[0];
        var folder = Path.Combine(RealPath(Path.GetFullPath(data)), first);
        if (Directory.Exists(folder) && !File.Exists(Path.Combine(folder, "model.zip")))
            throw new CliException(ExitCodes.BadOption,
                $"{option} {output}: inside the class folder '{first}' of --data {data}; what train writes there would change that class for the next run. Write elsewhere (or to a new folder at the data's top).");
    }

    /// <summary><paramref name="path"/> relative to the folder <paramref name="root"/> when it is that folder (".") or
    /// lies under it, links followed; null when it lies elsewhere.</summary>
    public static string? PathUnder(string path, string root)
    {
        var relative = Path.GetRelativePath(RealPath(Path.GetFullPath(root)), RealPathOfExisting(Path.GetFullPath(path)));
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? null : relative;
    }

    /// <summary><see cref="RealPath"/> of the deepest folder of <paramref name="full"/> that exists, the rest (not made
    /// yet) appended: a new folder under a link is found under the link's target.</summary>
    static string RealPathOfExisting(string full)
    {
        var existing = full;
        while (!Path.Exists(existing) && Path.GetDirectoryName(existing) is { } parent) existing = parent;
        return Path.Join(RealPath(existing), Path.GetRelativePath(existing, full) is var rest && rest != "." ? rest : "");
    }

    /// <summary>A file option (predict's --csv, evaluate's --json, export's --onnx): its folder must take files before
    /// any work, so nothing is computed for a result that cannot be written, and it must not be one of the command's
    /// <paramref name="inputs"/>; exit 8 naming the option. Returns the full path.</summary>
    public static string WritableFile(string given, string option, params (string Option, string? Path)[] inputs)
    {
        var path = Path.GetFullPath(given);
        if (Directory.Exists(path))
            throw new CliException(ExitCodes.BadOption, $"{option} {given}: is a folder; expected the name of a file to write.");
        // writing over what the command reads would lose it (export --onnx onto its own --model replaced the model;
        // through a link, predict --csv replaced a linked model with its CSV): compared where the links lead
        var real = RealPath(path);
        foreach (var (input, inputPath) in inputs)
            if (inputPath != null && string.Equals(RealPath(Path.GetFullPath(inputPath)), real, StringComparison.Ordinal))
                throw new CliException(ExitCodes.BadOption, $"{option} {given}: is the file {input} reads{(real != path ? $" ({real}, through a link)" : "")}; name another file to write.");
        Writable(Path.GetDirectoryName(path)!, given, option, "a file in a folder this user can write to");
        return path;
    }

    /// <summary>Where <paramref name="path"/> leads once every link in it is followed (realpath(3)); for a file that
    /// does not exist yet, its folder's real path and its name.</summary>
    public static string RealPath(string path)
    {
        if (!OperatingSystem.IsLinux()) return path;
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved != IntPtr.Zero)
        {
            try
            {
                return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved) ?? path;
            }
            finally
            {
                free(resolved);
            }
        }
        var parent = Path.GetDirectoryName(path);
        return parent == null || parent == path ? path : Path.Combine(RealPath(parent), Path.GetFileName(path));
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern IntPtr realpath([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [System.Runtime.InteropServices.DllImport("libc")]
    static extern void free(IntPtr pointer);

    static string Writable(string folder, string given, string option, string expected)
    {
        var probe = Path.Combine(folder, StaleFiles.TempSiblingName("write-check")); // named after this process: removed if it is killed here
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return folder;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.BadOption, $"{option} {given}: cannot write there ({e.Message}); expected {expected}.");
        }
    }
}

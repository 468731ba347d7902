using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MlNetTransfer;

/// <summary>
/// Names the temporary files and folders this tool writes after the process that owns them, and removes those whose
/// owner is no longer running (killed mid-save, out of memory, power lost). Only names of this tool's own pattern are
/// touched. A process id alone cannot say that a run has ended: a run in another PID namespace sharing the temp
/// folder (two containers of a pod on one emptyDir) has an id that means nothing here, and its folder was deleted
/// under it. So each work and run folder holds a lock file its process keeps locked (flock, released by the kernel
/// when the process dies, seen across namespaces), and a file still open in another process is never removed.
/// </summary>
public static partial class StaleFiles
{
    const string Prefix = "mlnettransfer-";
    static readonly ConcurrentDictionary<string, byte> s_deleteAtExit = new();
    static int s_exitHooked;

    /// <summary>An ONNX file name in a temp folder: <c>mlnettransfer-{pid}-{guid}.onnx</c>.</summary>
    public static string OnnxFileName() => $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}.onnx";

    /// <summary>A decoded-image store in a temp folder: <c>mlnettransfer-{pid}-{guid}.images</c>.</summary>
    public static string ImageStoreFileName() => $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}.images";

    /// <summary>A sibling of <paramref name="fileName"/> to write before the rename: <c>.{name}.{pid}-{guid}.tmp</c>.</summary>
    public static string TempSiblingName(string fileName) => $".{fileName}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";

    /// <summary>A per-process work folder name: <c>mlnettransfer-{pid}-work</c>.</summary>
    public static string WorkFolderName() => $"{Prefix}{Environment.ProcessId}-work";

    /// <summary>Creates a new folder for one run of a tool built on this library (a benchmark) in the temp folder,
    /// after removing those of runs that were killed: <c>mlnettransfer-{pid}-{guid}.{purpose}</c>.</summary>
    public static string CreateRunFolder(string purpose)
    {
        if (string.IsNullOrEmpty(purpose) || !purpose.All(char.IsAsciiLetterLower))
            throw new ArgumentException($"'{purpose}': a run folder's purpose is lower-case letters only", nameof(purpose));
        Clean(Path.GetTempPath());
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}.{purpose}")).FullName;
        HoldAlive(folder);
        return folder;
    }

    /// <summary>The lock file a live run keeps locked in its folder.</summary>
    public const string AliveFileName = ".alive";

    static readonly ConcurrentBag<FileStream> s_alive = [];

    /// <summary>Locks <paramref name="folder"/>'s <see cref="AliveFileName"/> for the rest of this process: while it
    /// runs, no <see cref="Clean"/> in any process removes the folder.</summary>
    public static void HoldAlive(string folder)
    {
        // FileShare.None is an exclusive flock(2) on Linux: held while the handle is open, dropped by the kernel when
        // the process ends, however it ends
        s_alive.Add(new FileStream(Path.Combine(folder, AliveFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
    }

    /// <summary>Whether another process holds <paramref name="path"/> open or locked (a live run's lock file, a file
    /// being written); false when it can be locked exclusively now.</summary>
    static bool HeldElsewhere(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Deletes, in <paramref name="folder"/>, the ONNX files, decoded-image stores, work and run folders and
    /// half-written temp siblings of processes that have ended. Returns what was removed; never throws for a file it
    /// cannot remove.</summary>
    public static IReadOnlyList<string> Clean(string folder)
    {
        var removed = new List<string>();
        if (!Directory.Exists(folder)) return removed;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(folder).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return removed;
        }
        foreach (var entry in entries)
        {
            var match = Owned().Match(Path.GetFileName(entry));
            if (!match.Success || !int.TryParse(match.Groups["pid"].Value, out int pid) || IsRunning(pid)) continue;
            // the id means nothing across PID namespaces: a locked lock file or a file open elsewhere is a live run's
            var alive = Path.Combine(entry, AliveFileName);
            if (Directory.Exists(entry) ? File.Exists(alive) && HeldElsewhere(alive) : HeldElsewhere(entry)) continue;
            try
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
                removed.Add(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // in use or not ours to remove: leave it
            }
        }
        return removed;
    }

    /// <summary>Deletes <paramref name="path"/> when this process exits normally (or on SIGTERM), unless
    /// <see cref="KeepAtExit"/> was called first: for a temp file that an object owns and deletes on Dispose, which
    /// programs often never call — a fitted pipeline is usually kept to the end, so without this each run of a program
    /// that trains would leave its network (tens of MB) in the temp folder until a later run removes it.</summary>
    public static void DeleteAtExit(string path)
    {
        if (Interlocked.Exchange(ref s_exitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteOwned();
        s_deleteAtExit[Path.GetFullPath(path)] = 0;
    }

    /// <summary>Forgets a file given to <see cref="DeleteAtExit"/> (its owner deleted it, or it is the user's now).</summary>
    public static void KeepAtExit(string path) => s_deleteAtExit.TryRemove(Path.GetFullPath(path), out _);

    /// <summary>Deletes the files given to <see cref="DeleteAtExit"/> (those in <paramref name="folder"/>, or all)
    /// that are still there; exit does it for all. Returns what was removed; never throws for a file it cannot
    /// remove.</summary>
    internal static IReadOnlyList<string> DeleteOwned(string? folder = null)
    {
        var removed = new List<string>();
        var inFolder = folder == null ? null : Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var path in s_deleteAtExit.Keys)
        {
            if (inFolder != null && !path.StartsWith(inFolder, StringComparison.Ordinal)) continue;
            s_deleteAtExit.TryRemove(path, out _);
            try
            {
                if (!File.Exists(path)) continue;
                File.Delete(path);
                removed.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // in use: a later run's Clean removes it
            }
        }
        return removed;
    }

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^(mlnettransfer-(?<pid>\d+)-([0-9a-f]{32}\.[a-z]+|work)|\..+\.(?<pid>\d+)-[0-9a-f]{32}\.tmp)$")]
    private static partial Regex Owned();
}

using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// A data set's folder read as classes: its sub-folders but the hidden ones (see <see cref="HiddenEntries"/>) and the
/// ones train wrote (model.zip and metrics.json: <c>train --data .</c> puts out/ inside the data, and its charts
/// trained as a class on the next run), and the files under each, every folder read once. A linked folder whose target
/// was read already — a link back up the tree, or to another class's folder — is not followed again: followed, a loop
/// went on until the paths grew too long (80 images became 3 904, the same files on both sides of the held-out split),
/// and a link to another class relabelled its images.
/// </summary>
public sealed class ClassFolderFiles
{
    readonly List<(string Path, string Label)> _files = [];
    readonly List<string> _hidden = [], _repeated = [], _unreadable = [];

    ClassFolderFiles(IReadOnlyList<string> classFolders, IReadOnlyList<string> outputFolders)
    {
        ClassFolders = classFolders;
        OutputFolders = outputFolders;
    }

    /// <summary>The class folders, full paths in ordinal order.</summary>
    public IReadOnlyList<string> ClassFolders { get; }

    /// <summary>Every file, with the class folder it lies under as its label, in ordinal order within each folder.</summary>
    public IReadOnlyList<(string Path, string Label)> Files => _files;

    /// <summary>Hidden folders left alone, relative to the root, '/'-separated, in ordinal order.</summary>
    public IReadOnlyList<string> HiddenFolders => _hidden.Order(StringComparer.Ordinal).ToList();

    /// <summary>Folders train wrote, left alone (names under the root).</summary>
    public IReadOnlyList<string> OutputFolders { get; }

    /// <summary>Folders not read because their target was read already (links), relative to the root.</summary>
    public IReadOnlyList<string> RepeatedFolders => _repeated;

    /// <summary>Folders that could not be listed (no permission, gone while read, /proc's transient entries),
    /// "path (why)", relative to the root: named and left out, not a failure of the whole run.</summary>
    public IReadOnlyList<string> UnreadableFolders => _unreadable;

    /// <summary>How many files each class folder holds (images or not), by class name.</summary>
    public IReadOnlyDictionary<string, int> FilesPerClass()
    {
        var counts = ClassFolders.ToDictionary(d => Path.GetFileName(d), _ => 0, StringComparer.Ordinal);
        foreach (var (_, label) in _files) counts[label]++;
        return counts;
    }

    /// <summary>Lists <paramref name="root"/>'s class folders and reads the files under them, after
    /// <paramref name="check"/> has seen the class folders (and thrown for a root that is not a folder of classes,
    /// before its tree is read).</summary>
    public static ClassFolderFiles Read(string root, Action<IReadOnlyList<string>>? check = null)
    {
        if (IsSystemFolder(RealPath(root)))
            throw new CliException(ExitCodes.DataNotFound, $"{root}: a folder of the system's ({RealPath(root)}), not a data set of images.");
        List<string> folders;
        try
        {
            folders = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.DataNotFound, $"{root}: cannot be read ({e.Message}).");
        }
        var outputs = folders.Where(IsRunOutput).ToList();
        var result = new ClassFolderFiles(folders.Where(d => !HiddenEntries.IsHidden(Path.GetFileName(d))).Except(outputs).ToList(),
            outputs.Select(d => Path.GetFileName(d)).ToList());
        result._hidden.AddRange(folders.Select(d => Path.GetFileName(d)).Where(HiddenEntries.IsHidden));
        check?.Invoke(result.ClassFolders);
        var read = new HashSet<string>(StringComparer.Ordinal) { RealPath(root) };
        foreach (var dir in result.ClassFolders) read.Add(RealPath(dir));
        foreach (var dir in result.ClassFolders) result.Walk(root, dir, Path.GetFileName(dir), read);
        return result;
    }

    /// <summary>Every file under <paramref name="folder"/> itself (no classes), with the same rules.</summary>
    public static IEnumerable<string> FilesUnder(string folder)
    {
        var result = new ClassFolderFiles([], []);
        result.Walk(folder, folder, "", [RealPath(folder)]);
        return result._files.Select(f => f.Path);
    }

    void Walk(string root, string dir, string label, HashSet<string> read)
    {
        List<string> files, subs;
        try
        {
            files = Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).ToList();
            subs = Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unreadable.Add($"{Path.GetRelativePath(root, dir).Replace(Path.DirectorySeparatorChar, '/')} ({e.Message})");
            return;
        }
        foreach (var file in files)
            if (!HiddenEntries.IsHidden(Path.GetFileName(file))) _files.Add((file, label));
        foreach (var sub in subs)
        {
            var relative = Path.GetRelativePath(root, sub).Replace(Path.DirectorySeparatorChar, '/');
            if (HiddenEntries.IsHidden(Path.GetFileName(sub))) _hidden.Add(relative);
            else if (IsSystemFolder(RealPath(sub))) _unreadable.Add($"{relative} (leads to {RealPath(sub)}, a folder of the system's)");
            else if (!read.Add(RealPath(sub))) _repeated.Add(relative);
            else Walk(root, sub, label, read);
        }
    }

    /// <summary>Whether a (real) path lies in the kernel's pseudo-file systems or device nodes: /proc/self/root alone
    /// leads back to the whole machine, and their files are not images.</summary>
    static bool IsSystemFolder(string real) =>
        OperatingSystem.IsLinux() && new[] { "/proc", "/sys", "/dev" }.Any(p => real == p || real.StartsWith(p + "/", StringComparison.Ordinal));

    /// <summary>Whether <paramref name="folder"/> is what train writes (a model and its metrics.json), not a class.</summary>
    static bool IsRunOutput(string folder) =>
        File.Exists(Path.Combine(folder, TrainCommand.ModelFile)) && File.Exists(Path.Combine(folder, ReportWriter.MetricsFile));

    /// <summary>The folder a path names once its own link, if it is one, is followed to the end.</summary>
    static string RealPath(string dir)
    {
        var info = new DirectoryInfo(dir);
        try
        {
            var target = info.LinkTarget == null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
            return Path.TrimEndingDirectorySeparator((target ?? info).FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Path.TrimEndingDirectorySeparator(info.FullName); // a link that cannot be followed: its own name
        }
    }
}

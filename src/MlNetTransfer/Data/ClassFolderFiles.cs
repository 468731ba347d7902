namespace MlNetTransfer.Cli.Data;

/// <summary>
/// The files under a data set's class folders, each folder read once. Hidden folders and files are left alone (see
/// <see cref="HiddenEntries"/>); a linked folder whose target was read already — a link back up the tree, or to another
/// class's folder — is not followed again: followed, a loop went on until the paths grew too long (80 images became
/// 3 904, the same files on both sides of the held-out split), and a link to another class relabelled its images.
/// </summary>
public sealed class ClassFolderFiles
{
    ClassFolderFiles() { }

    /// <summary>Every file, with the class folder it lies under as its label, in ordinal order within each folder.</summary>
    public List<(string Path, string Label)> Files { get; } = [];

    /// <summary>Hidden folders left alone, relative to the root, '/'-separated.</summary>
    public List<string> HiddenFolders { get; } = [];

    /// <summary>Folders not read because their target was read already (links), relative to the root.</summary>
    public List<string> RepeatedFolders { get; } = [];

    public static ClassFolderFiles Read(string root, IReadOnlyList<string> classFolders)
    {
        var result = new ClassFolderFiles();
        var read = new HashSet<string>(StringComparer.Ordinal) { RealPath(root) };
        foreach (var dir in classFolders) read.Add(RealPath(dir));
        foreach (var dir in classFolders) result.Walk(root, dir, Path.GetFileName(dir), read);
        return result;
    }

    void Walk(string root, string dir, string label, HashSet<string> read)
    {
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            if (!HiddenEntries.IsHidden(Path.GetFileName(file))) Files.Add((file, label));
        foreach (var sub in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(root, sub).Replace(Path.DirectorySeparatorChar, '/');
            if (HiddenEntries.IsHidden(Path.GetFileName(sub))) HiddenFolders.Add(relative);
            else if (!read.Add(RealPath(sub))) RepeatedFolders.Add(relative);
            else Walk(root, sub, label, read);
        }
    }

    /// <summary>The folder a path names once its own link, if it is one, is followed to the end.</summary>
    static string RealPath(string dir)
    {
        var info = new DirectoryInfo(dir);
        var target = info.LinkTarget == null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
        return Path.TrimEndingDirectorySeparator((target ?? info).FullName);
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The image files already decoded completely and found whole (<see cref="ImageFileCheck"/>), remembered in a cache
/// folder by full path, size and modification time, so a later run does not decode an unchanged file again to check
/// it. A file whose size or time changed is checked again; a damaged file is never remembered (it is checked, and
/// reported, every time). Each line: path, size, time and whether the file asks to be turned (EXIF orientation);
/// lines of older lists, without the last, are checked again.
/// </summary>
public sealed class CheckedFiles
{
    public const string FileName = "checked-images.tsv";
    readonly string? _path;
    readonly ConcurrentDictionary<string, (long Size, long Ticks, bool Turned)> _whole = new(StringComparer.Ordinal);
    int _added;

    CheckedFiles(string? path) => _path = path;

    /// <summary>Nothing remembered, nothing saved: every file is checked.</summary>
    public static CheckedFiles None() => new(null);

    /// <summary>What <paramref name="folder"/> remembers (nothing when the folder or its list does not exist).</summary>
    public static CheckedFiles In(string folder)
    {
        var known = new CheckedFiles(Path.Combine(folder, FileName));
        try
        {
            if (File.Exists(known._path))
                foreach (var line in File.ReadLines(known._path!))
                {
                    var cells = line.Split('\t');
                    if (cells.Length == 4 && long.TryParse(cells[1], CultureInfo.InvariantCulture, out var size)
                        && long.TryParse(cells[2], CultureInfo.InvariantCulture, out var ticks) && cells[3] is "0" or "1")
                        known._whole[cells[0]] = (size, ticks, cells[3] == "1");
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            known._whole.Clear(); // unreadable list: check everything
        }
        return known;
    }

    /// <summary>Null when <paramref name="path"/> is a whole image (remembered or checked now); otherwise what is
    /// wrong with it. Thread-safe.</summary>
    public string? Problem(string path) => Inspect(path).Problem;

    /// <summary><see cref="ImageFileCheck.Inspect"/>, remembered for whole files. Thread-safe.</summary>
    public (string? Problem, bool Turned) Inspect(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (info.Exists && _whole.TryGetValue(full, out var seen) && (seen.Size, seen.Ticks) == (info.Length, info.LastWriteTimeUtc.Ticks))
            return (null, seen.Turned);
        var inspected = ImageFileCheck.Inspect(full);
        if (inspected.Problem == null && info.Exists)
        {
            _whole[full] = (info.Length, info.LastWriteTimeUtc.Ticks, inspected.Turned);
            Interlocked.Increment(ref _added);
        }
        return inspected;
    }

    /// <summary>Writes the list back when files were added (whole or not at all).</summary>
    public void Save()
    {
        if (_path == null || Volatile.Read(ref _added) == 0) return;
        var text = new StringBuilder();
        foreach (var (path, (size, ticks, turned)) in _whole.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (!path.Contains('\t') && !path.Contains('\n'))
                text.Append(path).Append('\t').Append(size.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(ticks.ToString(CultureInfo.InvariantCulture))
                    .Append('\t').Append(turned ? '1' : '0').Append('\n');
        AtomicFile.Write(_path, Encoding.UTF8.GetBytes(text.ToString()));
        Interlocked.Exchange(ref _added, 0);
    }
}

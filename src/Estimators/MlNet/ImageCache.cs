using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Data;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Where decoded training images go: a store named after this process in a temp folder, removed when training ends
/// (or, after a crash, by the next run), or — with a cache folder and the image files known — a store kept there and
/// reused by later runs while the image list, every file's size and modification time, the labels and the side are
/// unchanged. A kept store is written under a temporary name and renamed when complete, with a manifest beside it
/// (rows → records, labels, skipped rows, and a checksum of a sample of the records), so a run killed while writing
/// leaves nothing that a later run would trust; a manifest that does not fit its store, or records that no longer
/// match their checksum (the file edited or replaced), make the run decode again and say why.
/// </summary>
internal sealed class ImageCache(string folder, bool reuse, Action<string>? log)
{
    const string Format = "mlnettransfer-images-4"; // bump when the decoding (scale, reduction, orientation, resize, pixel order) changes
    bool _warned;

    public string Folder => folder;

    /// <summary>A kept, complete store for this exact input of <paramref name="classCount"/> classes, or null.</summary>
    public (FileImageStore Store, Manifest Manifest)? TryOpen(string? key, int side, int classCount)
    {
        if (!reuse || key == null) return null;
        var (storePath, manifestPath) = PathsOf(key, side);
        if (!File.Exists(storePath) || !File.Exists(manifestPath)) return null;
        FileImageStore? store = null;
        try
        {
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
            if (manifest == null || manifest.Format != Format || manifest.Key != key || manifest.Side != side) return null;
            if (Inconsistency(manifest, classCount) is { } why) throw new InvalidDataException($"its manifest {why}");
            store = FileImageStore.Open(storePath, side, manifest.StoredRecords);
            if (Checksum(store) != manifest.Checksum)
                throw new InvalidDataException("its records do not match the checksum its manifest keeps: the file changed after it was written");
            return (store, manifest);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            store?.Release();
            log?.Invoke($"decoded-image cache {storePath} not used ({e.Message}); decoding again");
            return null;
        }
    }

    /// <summary>What makes a manifest impossible for its store, or null.</summary>
    static string? Inconsistency(Manifest manifest, int classCount) =>
        manifest.StoredRecords < 0 ? $"holds {manifest.StoredRecords} records"
        : manifest.Records is null || manifest.Labels is null || manifest.Records.Length != manifest.Labels.Length ? "lists records and labels of different lengths"
        : manifest.Records.Any(r => r < 0 || r >= manifest.StoredRecords) ? $"names a record outside the store's {manifest.StoredRecords}"
        : manifest.Records.Distinct().Count() != manifest.Records.Length ? "names a record twice"
        : manifest.Labels.Any(l => l < 0 || l >= classCount) ? $"names a class outside the {classCount} the labels have"
        : manifest.Rows is null || manifest.Rows.Length != manifest.Records.Length ? "does not list the input row of every record (an older cache)"
        : null;

    /// <summary>SHA-256 of up to 64 records spread over the store (a few MB read: cheap beside decoding), with the
    /// store's record count: a store of other bytes, or another length, does not pass.</summary>
    static string Checksum(FileImageStore store)
    {
        long count = store.Count;
        int samples = (int)Math.Min(64, count);
        var records = Enumerable.Range(0, samples).Select(i => samples == 1 ? 0 : i * (count - 1) / (samples - 1)).ToArray();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(count));
        if (samples > 0)
        {
            using var sampled = store.Gather(records);
            hash.AppendData(sampled.bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..32].ToLowerInvariant();
    }

    /// <summary>A new store to write: kept under a temporary name when it can be reused, else a temp file.</summary>
    public FileImageStore Create(string? key, int side)
    {
        StaleFiles.Clean(folder); // stores of runs that were killed
        if (reuse && key == null && !_warned)
        {
            _warned = true;
            log?.Invoke($"decoded images go to {folder} but cannot be reused by a later run: the image files are not known (set ImagePathColumnName)");
        }
        var name = reuse && key != null ? StaleFiles.TempSiblingName(Path.GetFileName(PathsOf(key, side).Store)) : StaleFiles.ImageStoreFileName();
        return FileImageStore.Create(Path.Combine(folder, name), side);
    }

    /// <summary>Makes a completely written store reusable: flushed, renamed, its manifest written beside it. Returns
    /// the store to read from (the same records, reopened read-only) and frees the written one.</summary>
    public FileImageStore Publish(FileImageStore written, string? key, Manifest manifest)
    {
        if (!reuse || key == null) return written;
        var (storePath, manifestPath) = PathsOf(key, written.Side);
        written.Keep();
        written.Release();
        File.Move(written.FilePath, storePath, overwrite: true);
        var published = FileImageStore.Open(storePath, written.Side, manifest.StoredRecords);
        AtomicFile.Write(manifestPath, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(manifest with { Format = Format, Key = key, Checksum = Checksum(published) })));
        return published;
    }

    /// <summary>What identifies the input: every row's file (full path, size, modification time and, where the file
    /// system gives them, device, inode and change time — a file copied over another with its time kept, or edited
    /// and its time set back, still changes them) and label key, the class names and the decoding format; null when
    /// the files are not known.</summary>
    public string? KeyOf(IDataView data, string labelColumn, IReadOnlyList<string> classNames, ImageFiles? files)
    {
        if (!reuse || files == null) return null;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add(Format);
        Add($"max pixels {files.MaxPixels}");
        Add(string.Join("\t", classNames));
        using var cursor = data.GetRowCursor([data.Schema[files.Column], data.Schema[labelColumn]]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema[files.Column]);
        var getLabel = cursor.GetGetter<uint>(data.Schema[labelColumn]);
        ReadOnlyMemory<char> path = default;
        uint label = 0;
        while (cursor.MoveNext())
        {
            getPath(ref path);
            getLabel(ref label);
            var full = Path.GetFullPath(files.Folder == null ? path.ToString() : Path.Combine(files.Folder, path.ToString()));
            var info = new FileInfo(full);
            var status = info.Exists ? Imaging.FileStatus.Of(full) : null;
            Add(info.Exists ? $"{full}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}\t{status?.Device}:{status?.Inode}:{status?.ChangedSeconds}.{status?.ChangedNanoseconds}\t{label}"
                : $"{full}\t-\t-\t{label}");
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..20].ToLowerInvariant();
    }

    (string Store, string Manifest) PathsOf(string key, int side) =>
        (Path.Combine(folder, $"images-{side}px-{key}.u8"), Path.Combine(folder, $"images-{side}px-{key}.json"));

    /// <summary>What a kept store holds: per usable row (in row order) its record, label and input row; the rows left out.</summary>
    public sealed record Manifest(int Side, long StoredRecords, long[] Records, long[] Labels, int Skipped, string[] Problems)
    {
        public string Format { get; init; } = "";
        public string Key { get; init; } = "";
        public string Checksum { get; init; } = "";

        /// <summary>The input row of each record: the data checks name images by it.</summary>
        public long[]? Rows { get; init; }
    }
}

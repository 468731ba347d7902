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
/// (rows → records, labels, skipped rows), so a run killed while writing leaves nothing that a later run would trust.
/// </summary>
internal sealed class ImageCache(string folder, bool reuse, Action<string>? log)
{
    const string Format = "mlnettransfer-images-2"; // bump when the decoding (scale, orientation, resize, pixel order) changes
    bool _warned;

    public string Folder => folder;

    /// <summary>A kept, complete store for this exact input, or null.</summary>
    public (FileImageStore Store, Manifest Manifest)? TryOpen(string? key, int side)
    {
        if (!reuse || key == null) return null;
        var (storePath, manifestPath) = PathsOf(key, side);
        if (!File.Exists(storePath) || !File.Exists(manifestPath)) return null;
        try
        {
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
            if (manifest == null || manifest.Format != Format || manifest.Key != key || manifest.Side != side) return null;
            return (FileImageStore.Open(storePath, side, manifest.StoredRecords), manifest);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            log?.Invoke($"decoded-image cache {storePath} not used ({e.Message}); decoding again");
            return null;
        }
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
        AtomicFile.Write(manifestPath, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(manifest with { Format = Format, Key = key })));
        return FileImageStore.Open(storePath, written.Side, manifest.StoredRecords);
    }

    /// <summary>What identifies the input: every row's file (full path, size, modification time) and label key, the
    /// class names and the decoding format; null when the files are not known.</summary>
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
            Add(info.Exists ? $"{full}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}\t{label}" : $"{full}\t-\t-\t{label}");
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..20].ToLowerInvariant();
    }

    (string Store, string Manifest) PathsOf(string key, int side) =>
        (Path.Combine(folder, $"images-{side}px-{key}.u8"), Path.Combine(folder, $"images-{side}px-{key}.json"));

    /// <summary>What a kept store holds: per usable row (in row order) its record and label; the rows left out.</summary>
    public sealed record Manifest(int Side, long StoredRecords, long[] Records, long[] Labels, int Skipped, string[] Problems)
    {
        public string Format { get; init; } = "";
        public string Key { get; init; } = "";
    }
}

using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Data;

/// <summary>
/// An <see cref="ImageStore"/> in a file of fixed-size records, written once in parallel (each writer at its own record)
/// and read with positional reads. Not a memory mapping: mapped pages count towards the process's resident memory as
/// an epoch touches them, so 50 000 images at 224 px would show as 7.5 GB resident; positional reads go through the
/// operating system's page cache, which keeps the file hot when memory allows and gives it back when not. The file is
/// deleted when the store is freed unless it was <see cref="Keep">kept</see> as a reusable cache.
/// </summary>
public sealed class FileImageStore : ImageStore
{
    readonly SafeFileHandle _handle;
    readonly string _folder;
    long _records;
    bool _keep;

    FileImageStore(SafeFileHandle handle, string path, int side, long records) : base(side)
    {
        _handle = handle;
        FilePath = path;
        _folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        _records = records;
    }

    /// <summary>The file holding the records.</summary>
    public string FilePath { get; }

    /// <summary>Records written (the highest record number written, plus one).</summary>
    public long Count => Interlocked.Read(ref _records);

    /// <summary>A new, empty store at <paramref name="path"/> (the file must not exist; its folder is created).</summary>
    public static FileImageStore Create(string path, int side)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        try
        {
            Directory.CreateDirectory(folder);
            var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
            return new FileImageStore(handle, path, side, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot create the decoded-image cache in {folder}: {e.Message}", e);
        }
    }

    /// <summary>A store over an existing file of <paramref name="records"/> records (a kept cache), read-only.</summary>
    public static FileImageStore Open(string path, int side, long records)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long expected = records * 3L * side * side;
        long length = RandomAccess.GetLength(handle);
        if (length != expected)
        {
            handle.Dispose();
            throw new InvalidDataException($"{path}: {length} bytes, expected {expected} ({records} images at {side} px)");
        }
        var store = new FileImageStore(handle, path, side, records);
        store._keep = true;
        return store;
    }

    /// <summary>For tests: a store writing through an already open handle (e.g. /dev/full).</summary>
    internal static FileImageStore Over(SafeFileHandle handle, string path, int side) => new(handle, path, side, 0) { _keep = true };

    /// <summary>Writes one record; several threads may write different records at once. A full disk (or any write
    /// failure) is an <see cref="IOException"/> naming the folder.</summary>
    public void Write(long record, ReadOnlySpan<byte> pixels)
    {
        if (pixels.Length != RecordBytes)
            throw new ArgumentException($"a record is {RecordBytes} bytes ({Side} px), got {pixels.Length}", nameof(pixels));
        try
        {
            RandomAccess.Write(_handle, pixels, record * RecordBytes);
        }
        catch (IOException e)
        {
            throw new IOException(
                $"Cannot write the decoded-image cache in {_folder} ({(IsDiskFull(e) ? "the disk is full" : e.Message)}); it needs " +
                $"{SizeText(RecordBytes)} per image at {Side} px. Free space there, or point the cache elsewhere (--cache-dir, " +
                "TransferTrainOptions.CacheDirectory, or MLContext.TempFilePath).", e);
        }
        long next = record + 1, seen;
        while ((seen = Interlocked.Read(ref _records)) < next && Interlocked.CompareExchange(ref _records, next, seen) != seen) { }
    }

    public override Tensor Gather(ReadOnlySpan<long> records)
    {
        var batch = empty([records.Length, 3, Side, Side], ScalarType.Byte);
        try
        {
            var target = batch.bytes;
            int size = RecordBytes;
            for (int i = 0; i < records.Length;)
            {
                // consecutive records are one read (evaluation and feature passes go in record order)
                int run = 1;
                while (i + run < records.Length && records[i + run] == records[i] + run) run++;
                if (records[i] < 0 || records[i] + run > Count)
                    throw new ArgumentOutOfRangeException(nameof(records), $"record {records[i]} is not in the store ({Count} records)");
                ReadExactly(target.Slice(i * size, run * size), records[i] * size);
                i += run;
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    void ReadExactly(Span<byte> target, long offset)
    {
        while (target.Length > 0)
        {
            int read = RandomAccess.Read(_handle, target, offset);
            if (read <= 0) throw new EndOfStreamException($"{FilePath}: ended at byte {offset}; the cache file was changed while in use");
            target = target[read..];
            offset += read;
        }
    }

    /// <summary>Flushes the file and keeps it when the store is freed (a reusable cache).</summary>
    public void Keep()
    {
        RandomAccess.FlushToDisk(_handle);
        _keep = true;
    }

    protected override void Free()
    {
        _handle.Dispose();
        if (_keep) return;
        try
        {
            File.Delete(FilePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // left for StaleFiles to remove once this process has ended
        }
    }

    /// <summary>ENOSPC / EDQUOT on Unix (the errno is the HResult), ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 122 or 0x70 or 0x27;

    static string SizeText(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):0.##} MB" : $"{bytes / 1024.0:0.#} KB";
}

using MlNetTransfer.Engine.Data;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>Labelled images at training resolution: a view of some records of an <see cref="ImageStore"/> (RGB bytes
/// [3,H,W] each, in memory or in a file) with their class indices [N] in memory. Subsets are views too: they share
/// the store and copy only record numbers. Batches are read with <see cref="Gather"/>. Each view holds a reference
/// to the store; dispose every view.</summary>
public sealed class ImageTensorDataset : IDisposable
{
    readonly ImageStore _store;
    readonly long[] _records;
    bool _disposed;

    /// <summary>A dataset owning <paramref name="images"/> [N,3,S,S] (bytes, or values on 0..255) in memory.</summary>
    public ImageTensorDataset(Tensor images, Tensor labels, IReadOnlyList<string> classNames)
        : this(new TensorImageStore(images), Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)i).ToArray(), labels, classNames)
    {
    }

    /// <summary>A dataset over <paramref name="records"/> of <paramref name="store"/>; takes over the caller's
    /// reference to the store.</summary>
    public ImageTensorDataset(ImageStore store, long[] records, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (labels.dim() != 1 || labels.shape[0] != records.Length)
            throw new ArgumentException($"labels must be [N] with N = {records.Length}, got [{string.Join(",", labels.shape)}]", nameof(labels));
        if (classNames.Count < 2)
            throw new ArgumentException("at least two classes are needed", nameof(classNames));
        _store = store;
        _records = records;
        Labels = labels.to_type(ScalarType.Int64);
        ClassNames = classNames;
        var counts = Labels.bincount(null, classNames.Count).data<long>().ToArray();
        if (counts.Length > classNames.Count)
            throw new ArgumentException($"labels go up to {counts.Length - 1} but only {classNames.Count} class names were given", nameof(labels));
        ClassCounts = counts;
    }

    /// <summary>Class indices [N] on the CPU.</summary>
    public Tensor Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<long> ClassCounts { get; }
    public long Count => _records.LongLength;

    /// <summary>Square side of the images.</summary>
    public int Side => _store.Side;

    /// <summary>The images of rows <paramref name="rows"/> as a new CPU byte tensor [B,3,S,S]; thread-safe.</summary>
    public Tensor Gather(ReadOnlySpan<long> rows)
    {
        var records = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++) records[i] = _records[rows[i]];
        return _store.Gather(records);
    }

    /// <summary>Rows <paramref name="start"/> .. start + count − 1.</summary>
    public Tensor Slice(long start, long count) => _store.Gather(_records.AsSpan((int)start, (int)count));

    /// <summary>Every image as one tensor: for small sets and tests (a large set does not fit in memory).</summary>
    public Tensor ReadAll() => _store.Gather(_records);

    /// <summary>A view of the rows at <paramref name="rows"/>, sharing the store (no pixels are copied).</summary>
    public ImageTensorDataset Subset(IReadOnlyList<long> rows)
    {
        var records = rows.Select(r => _records[r]).ToArray();
        using var index = tensor(rows.ToArray());
        return new ImageTensorDataset(_store.Share(), records, Labels.index_select(0, index), ClassNames);
    }

    /// <summary>The images copied to <paramref name="device"/> in row order (read in chunks, never all on the host at
    /// once), as a new dataset whose batches are gathered there: for a GPU when the images fit in its memory.</summary>
    public ImageTensorDataset ToDevice(Device device, int chunk = 256)
    {
        var images = empty([Count, 3, Side, Side], ScalarType.Byte, device);
        try
        {
            for (long start = 0; start < Count; start += chunk)
            {
                long count = Math.Min(chunk, Count - start);
                using var rows = Slice(start, count);
                using var target = images.narrow(0, start, count);
                target.copy_(rows);
            }
            return new ImageTensorDataset(new TensorImageStore(images), Enumerable.Range(0, (int)Count).Select(i => (long)i).ToArray(),
                Labels.clone(), ClassNames);
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of all the images: 3 · side² each.</summary>
    public long Bytes => Count * 3L * Side * Side;

    /// <summary>Another view of all rows (dispose it separately).</summary>
    public ImageTensorDataset Share() => new(_store.Share(), _records, Labels.clone(), ClassNames);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Labels.Dispose();
        _store.Release();
    }
}

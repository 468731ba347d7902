using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Data;

/// <summary>
/// Decoded images at one side as fixed-size uint8 records [3, side, side], read by record number. Datasets are index
/// views over a store (splits, subsets and shuffles never copy pixels), so a store is shared: every view holds a
/// reference and the store frees itself (memory or file) when the last one lets go.
/// </summary>
public abstract class ImageStore
{
    int _references = 1;

    protected ImageStore(int side)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 1);
        Side = side;
    }

    /// <summary>Square side of every record.</summary>
    public int Side { get; }

    /// <summary>Bytes of one record: 3 · side².</summary>
    public int RecordBytes => 3 * Side * Side;

    /// <summary>The records at <paramref name="records"/>, in that order, as a new CPU byte tensor [B, 3, side, side].
    /// Safe to call from several threads at once.</summary>
    public abstract Tensor Gather(ReadOnlySpan<long> records);

    /// <summary>Another holder of this store (a view); pair with <see cref="Release"/>.</summary>
    public ImageStore Share()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new ObjectDisposedException(GetType().Name, "the image store was already released");
        return this;
    }

    /// <summary>Lets go of one reference; the last one frees the store.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Free();
    }

    protected abstract void Free();
}

using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Data;

/// <summary>An <see cref="ImageStore"/> over a byte tensor [N, 3, side, side] in memory: for images that are in memory
/// already (tests, resized copies of small sets). The store owns the tensor.</summary>
public sealed class TensorImageStore : ImageStore
{
    readonly Tensor _images;

    public TensorImageStore(Tensor images) : base(images.dim() == 4 ? (int)images.shape[3] : 0)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != images.shape[3])
            throw new ArgumentException($"images must be [N,3,S,S], got [{string.Join(",", images.shape)}]", nameof(images));
        _images = images.dtype == ScalarType.Byte ? images : images.to_type(ScalarType.Byte);
    }

    public long Count => _images.shape[0];

    public override Tensor Gather(ReadOnlySpan<long> records)
    {
        using var index = tensor(records.ToArray(), device: _images.device); // a store on a GPU gathers there
        return _images.index_select(0, index);
    }

    protected override void Free() => _images.Dispose();
}

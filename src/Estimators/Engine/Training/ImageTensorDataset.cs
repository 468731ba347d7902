using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>Labelled images at training resolution, held compactly: RGB bytes [N,3,H,W] and class indices [N].
/// The dataset owns its tensors.</summary>
public sealed class ImageTensorDataset : IDisposable
{
    public ImageTensorDataset(Tensor images, Tensor labels, IReadOnlyList<string> classNames)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"images must be [N,3,H,W], got [{string.Join(",", images.shape)}]", nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be [N] with N = {images.shape[0]}, got [{string.Join(",", labels.shape)}]", nameof(labels));
        if (classNames.Count < 2)
            throw new ArgumentException("at least two classes are needed", nameof(classNames));
        Images = images.dtype == ScalarType.Byte ? images : images.to_type(ScalarType.Byte);
        Labels = labels.to_type(ScalarType.Int64);
        ClassNames = classNames;
        var counts = Labels.bincount(null, classNames.Count).data<long>().ToArray();
        if (counts.Length > classNames.Count)
            throw new ArgumentException($"labels go up to {counts.Length - 1} but only {classNames.Count} class names were given", nameof(labels));
        ClassCounts = counts;
    }

    public Tensor Images { get; }
    public Tensor Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<long> ClassCounts { get; }
    public long Count => Labels.shape[0];

    /// <summary>A new dataset holding copies of the rows at <paramref name="indices"/>.</summary>
    public ImageTensorDataset Subset(IReadOnlyList<long> indices)
    {
        using var index = tensor(indices.ToArray());
        return new ImageTensorDataset(Images.index_select(0, index), Labels.index_select(0, index), ClassNames);
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>An <see cref="IImageSource"/> over images already decoded at one side: other sides are resized from them
/// (bilinear, antialiased). For data that is in memory already and for tests; the ML.NET adapter reads from the
/// IDataView at each side instead, exactly as the saved model resizes.</summary>
public sealed class TensorImageSource(ImageTensorDataset data) : IImageSource
{
    public IReadOnlyList<string> ClassNames => data.ClassNames;

    public int? SourceSide => data.Side;

    public ImageTensorDataset Read(int side)
    {
        if (side == data.Side) return data.Share();
        Tensor bytes;
        using (var scope = NewDisposeScope())
        {
            var resized = nn.functional.interpolate(data.ReadAll().to_type(ScalarType.Float32), size: [side, side],
                mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            bytes = resized.round().Clamped(0, 255).to_type(ScalarType.Byte).MoveToOuterDisposeScope();
        }
        // built outside the scope: the dataset's own tensors (its labels) must outlive it
        return new ImageTensorDataset(bytes, data.Labels.clone(), data.ClassNames);
    }
}

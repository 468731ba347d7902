using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>Labelled images that can be read at any square side: the recipe decides the side (the weights' own for
/// the classifier on pretrained features, a measured one for deeper strategies) and reads the images at it, the way
/// the saved model will resize them when it serves.</summary>
public interface IImageSource
{
    /// <summary>Class names in label index order.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The images at <paramref name="side"/>×<paramref name="side"/>, in a stable order; the caller owns the
    /// dataset.</summary>
    ImageTensorDataset Read(int side);

    /// <summary>The median longer side of the source images, once known (after the first <see cref="Read"/>).</summary>
    int? SourceSide { get; }
}

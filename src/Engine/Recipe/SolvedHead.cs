using MlNetTransfer.Engine.Training;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>The recipe's first stage, kept for the stages after it: the frozen network's features of every labelled
/// image at the weights' own side (on the training device), the classifier solved on them without the validation
/// images, and the choice of its penalty. Owns its tensors.</summary>
internal sealed class SolvedHead : IDisposable
{
    /// <summary>The side the features were computed at.</summary>
    public required int Side { get; init; }

    /// <summary>The features the classifier alone reads (the wide variant's where the architecture has one), of the
    /// labelled images and of a separate validation set.</summary>
    public required Tensor Computed { get; init; }
    public required Tensor? ComputedValidation { get; init; }

    /// <summary>The columns the trained architecture's own classifier reads (the last ones of <see cref="Computed"/>).</summary>
    public required Tensor Features { get; init; }
    public required Tensor? ValidationFeatures { get; init; }
    public required Tensor Labels { get; init; }
    public required Tensor? ValidationLabels { get; init; }

    /// <summary>The training and held-out parts the classifier was solved and chosen on.</summary>
    public required Tensor TrainLabels { get; init; }
    public required Tensor? HeldLabels { get; init; }
    public required Tensor? ClassWeights { get; init; }

    /// <summary>The classifier fitted without the validation images, and how it was chosen.</summary>
    public required LinearHead Split { get; init; }
    public required HeadChoice Choice { get; init; }

    /// <summary>Tensors made on the way that only need disposing.</summary>
    public required IReadOnlyList<IDisposable?> Held { get; init; }

    public void Dispose()
    {
        foreach (var t in (IDisposable?[])[Computed, ComputedValidation, Features, ValidationFeatures, Labels, ValidationLabels,
                     TrainLabels, HeldLabels, ClassWeights, Split, .. Held])
            t?.Dispose();
    }
}

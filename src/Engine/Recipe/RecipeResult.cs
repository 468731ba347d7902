using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>What <see cref="TransferRecipe.Run"/> hands back: the trained network (on the CPU, in eval mode; the
/// caller owns it), the preprocessing at the side it was trained at, and how it got there.</summary>
public sealed class RecipeResult : IDisposable
{
    internal RecipeResult(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing,
        FineTuneStrategy strategy, HeadChoice? head, AutoDecision? auto, TrainingResult training, string startDescription)
    {
        Model = model;
        Architecture = architecture;
        Preprocessing = preprocessing;
        Strategy = strategy;
        Head = head;
        Auto = auto;
        Training = training;
        StartDescription = startDescription;
    }

    public nn.Module<Tensor, Tensor> Model { get; }
    public Architecture Architecture { get; }

    /// <summary>The preprocessing the model was trained with; <see cref="Preprocessing.InputSize"/> is the image side.</summary>
    public Preprocessing Preprocessing { get; }

    public int ImageSize => Preprocessing.InputSize;

    /// <summary>The strategy the model was trained with (Auto resolved).</summary>
    public FineTuneStrategy Strategy { get; }

    /// <summary>The converged classifier every strategy starts from (null when a run resumed past it).</summary>
    public HeadChoice? Head { get; }

    /// <summary>What Auto decided and why; null when a strategy was named.</summary>
    public AutoDecision? Auto { get; }

    /// <summary>The epochs (the head's solve is epoch 1 of a head-only run), the best one, and how the run ended.</summary>
    public TrainingResult Training { get; }

    /// <summary>Whether predictions average each image with its mirror image, and why.</summary>
    public FlipDecision Flip { get; init; } = FlipDecision.NotMeasured("not decided");

    /// <summary>The architecture's starting weights, in words.</summary>
    public string StartDescription { get; }

    public void Dispose() => Model.Dispose();
}

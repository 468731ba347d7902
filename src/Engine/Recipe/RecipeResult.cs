using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>What <see cref="TransferRecipe.Run"/> hands back: the trained network (on the CPU, in eval mode; the
/// caller owns it), the preprocessing at the side it was trained at, and the record of how it got there.</summary>
public sealed class RecipeResult(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing, RunRecord record)
    : IDisposable
{
    public nn.Module<Tensor, Tensor> Model { get; } = model;
    public Architecture Architecture { get; } = architecture;

    /// <summary>The preprocessing the model was trained with; <see cref="Preprocessing.InputSize"/> is the image side.</summary>
    public Preprocessing Preprocessing { get; } = preprocessing;

    /// <summary>What the run decided, as the transformer carries it and the report writes it.</summary>
    public RunRecord Record { get; } = record;

    /// <summary>What the data checks found in the training (and test) images; <see cref="DataHealth.NotChecked"/> when
    /// the run did not check them (off, or resumed).</summary>
    public DataHealth Health { get; init; } = DataHealth.NotChecked;

    public int ImageSize => Preprocessing.InputSize;

    /// <summary>The strategy the model was trained with (Auto resolved).</summary>
    public FineTuneStrategy Strategy => Record.Strategy;

    /// <summary>The converged classifier every strategy starts from (null when a run resumed past it).</summary>
    public HeadChoice? Head => Record.Head;

    /// <summary>What Auto decided and why; null when a strategy was named.</summary>
    public AutoDecision? Auto => Record.Auto;

    /// <summary>The epochs (the head's solve is epoch 1 of a head-only run), the best one, and how the run ended.</summary>
    public TrainingResult Training => Record.Training;

    /// <summary>Whether predictions average each image with its mirror image, and why.</summary>
    public FlipDecision Flip => Record.Flip;

    public void Dispose() => Model.Dispose();
}

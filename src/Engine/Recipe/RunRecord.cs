using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>What a run decided and how it went, made once by the recipe (or a job's import), carried unchanged by the
/// fitted transformer and written by the report (metrics.json's <c>training</c> section).</summary>
/// <param name="Architecture">The network trained (when its classifier alone is the model, the architecture whose
/// classifier was solved).</param>
/// <param name="Weights">The starting weights, in words.</param>
/// <param name="Strategy">The strategy the model was trained with (Auto resolved).</param>
/// <param name="StrategyReason">Why: Auto's reason, or that the strategy was named or resumed.</param>
/// <param name="ImageSize">The image side the model was trained at and scores at.</param>
/// <param name="Device">Where it trained (<c>cpu</c>, <c>cuda:0</c>, or a job's devices).</param>
/// <param name="BalanceClasses">Whether the loss weighed every class equally.</param>
/// <param name="Head">The converged classifier every strategy starts from (null when a run resumed past it).</param>
/// <param name="Auto">What Auto measured and decided; null when a strategy was named.</param>
/// <param name="Flip">Whether predictions average each image with its mirror image, and why.</param>
/// <param name="Calibration">The temperature Score is calibrated with, and what it did on the validation images.</param>
/// <param name="Training">The epochs, the best one, the batch size and how the run ended.</param>
public sealed record RunRecord(
    string Architecture,
    string Weights,
    FineTuneStrategy Strategy,
    string StrategyReason,
    int ImageSize,
    string Device,
    bool BalanceClasses,
    HeadChoice? Head,
    AutoDecision? Auto,
    FlipDecision Flip,
    Calibration Calibration,
    TrainingResult Training)
{
    /// <summary>The training images' features the model compares each image with to say whether it is unfamiliar, and
    /// the limit; null when the run measured none (off, cancelled, too few images, an imported job).</summary>
    public Familiarity? Familiarity { get; init; }

    /// <summary>The reason recorded for a strategy Auto did not choose.</summary>
    public static string NamedReason(bool resumed) => resumed ? "resumed from a checkpoint" : "named in the options";
}

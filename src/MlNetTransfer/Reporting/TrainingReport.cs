using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>Everything metrics.json holds: the test metrics, how training went, what was chosen and why, timings.</summary>
public sealed record TrainingReport(
    ClassificationReport Test,
    string TestSource,
    IReadOnlyList<EpochSummary> History,
    int BestEpoch,
    bool StoppedEarly,
    string Architecture,
    string Weights,
    string Strategy,
    string StrategyReason,
    string Device,
    int ImageSize,
    int TrainImages,
    IReadOnlyList<string> SkippedImages,
    double TrainSeconds,
    double EvaluateSeconds,
    HeadChoice? Head = null,
    AutoDecision? Auto = null)
{
    /// <summary>Why training ended before its last epoch (early stopping, a non-finite loss), or null.</summary>
    public string? StopReason { get; init; }

    /// <summary>Whether Score averages each image with its mirror image, and the validation numbers behind
    /// it.</summary>
    public FlipDecision? Flip { get; init; }

    /// <summary>Images per training step (given, or the device's default); null when the classifier was solved.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Whether the loss weighed every class equally (--balance-classes).</summary>
    public bool BalanceClasses { get; init; }

    /// <summary>Unreadable images of a separate --test set, "file: reason".</summary>
    public IReadOnlyList<string> TestSkipped { get; init; } = [];

    /// <summary>Test images of classes the training data lacks, by class: left out of the metrics, not counted as errors.</summary>
    public IReadOnlyDictionary<string, int> UnknownTestClasses { get; init; } = new Dictionary<string, int>();
}

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
    AutoDecision? Auto = null);

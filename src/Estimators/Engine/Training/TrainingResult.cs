namespace MlNetTransfer.Engine.Training;

/// <summary>How a fine-tuning run ended. The model passed to <see cref="FineTuner.Fit"/> holds the weights of
/// <see cref="BestEpoch"/>.</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochSummary> History,
    int BestEpoch,
    bool StoppedEarly,
    bool Cancelled,
    string StrategyDescription);

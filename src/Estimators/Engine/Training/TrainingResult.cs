namespace MlNetTransfer.Engine.Training;

/// <summary>How a fine-tuning run ended. The model passed to <see cref="FineTuner.Fit"/> holds the weights of
/// <see cref="BestEpoch"/>, or, when <see cref="Cancelled"/>, the weights at the cancelled batch, which together
/// with <see cref="Checkpoint"/> continue the run where it stopped.</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochSummary> History,
    int BestEpoch,
    bool StoppedEarly,
    bool Cancelled,
    string StrategyDescription,
    TrainingCheckpoint? Checkpoint = null);

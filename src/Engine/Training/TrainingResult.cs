namespace MlNetTransfer.Engine.Training;

/// <summary>How a fine-tuning run ended. The model passed to <see cref="FineTuner.Fit"/> holds the weights of
/// <see cref="BestEpoch"/>, or, when <see cref="Cancelled"/>, the weights at the cancelled batch, which together
/// with <see cref="Checkpoint"/> continue the run where it stopped. <see cref="StopReason"/> says why a run ended
/// before its last epoch: early stopping, or a loss that became NaN or infinite (then the weights are the best epoch's,
/// or the starting weights when <see cref="BestEpoch"/> is 0). <see cref="BatchSize"/> is the batch the epochs trained
/// with (given, or the device's default); null when nothing trained in batches (the classifier solved).</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochSummary> History,
    int BestEpoch,
    bool StoppedEarly,
    bool Cancelled,
    string StrategyDescription,
    TrainingCheckpoint? Checkpoint = null,
    string? StopReason = null,
    bool Diverged = false,
    int? BatchSize = null);

namespace MlNetTransfer.Engine.Training;

/// <summary>A progress event: after a batch (<see cref="Batch"/> set) or at the end of an epoch (validation
/// numbers set when there is a validation set).</summary>
public sealed record TrainingProgress(
    int Epoch,
    int Epochs,
    int? Batch,
    int Batches,
    double Loss,
    double Accuracy,
    double LearningRate,
    double ImagesPerSecond,
    double? ValidationLoss = null,
    double? ValidationAccuracy = null)
{
    public bool IsEpochEnd => Batch == null;
}

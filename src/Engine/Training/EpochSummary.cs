namespace MlNetTransfer.Engine.Training;

/// <summary>One row of the training history.</summary>
public sealed record EpochSummary(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss,
    double? ValidationAccuracy, double LearningRate, double Seconds, double ImagesPerSecond);

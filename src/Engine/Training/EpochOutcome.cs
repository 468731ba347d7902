namespace MlNetTransfer.Engine.Training;

/// <summary>How an epoch's batches went (<see cref="TrainingEpoch.Run"/>): the loss and accuracy sums over the epoch
/// (a resumed epoch's earlier batches included), the last rate, the images seen in this process, the batch it reached,
/// and whether it was cancelled or its loss became non-finite (<see cref="Diverged"/> says where).</summary>
internal sealed record EpochOutcome(double LossSum, long Correct, long Seen, double Rate, long SeenNow, int BatchReached, bool Cancelled,
    string? Diverged)
{
    public double TrainLoss => LossSum / Math.Max(Seen, 1);
    public double TrainAccuracy => (double)Correct / Math.Max(Seen, 1);
}

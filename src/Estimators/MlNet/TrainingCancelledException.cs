using Microsoft.ML;

namespace MlNetTransfer.MlNet;

/// <summary>
/// <see cref="TransferTrainEstimator.Fit"/> was cancelled through <see cref="TransferTrainOptions.CancellationToken"/>.
/// When training had started, <see cref="PartialModel"/> holds the weights at the cancelled batch and its
/// <see cref="TransferTrainTransformer.Training"/> the checkpoint: save it with <see cref="InputSchema"/>, then pass
/// that zip as <see cref="TransferTrainOptions.ContinueFromModelPath"/> and the checkpoint as
/// <see cref="TransferTrainOptions.ResumeFrom"/> to end where the uninterrupted fit would have. The caller owns
/// (and disposes) <see cref="PartialModel"/>.
/// </summary>
public sealed class TrainingCancelledException : OperationCanceledException
{
    public TrainingCancelledException(TransferTrainTransformer? partialModel, DataViewSchema inputSchema, CancellationToken token)
        : base(partialModel?.Training.Checkpoint is { } c
            ? $"Training was cancelled in epoch {c.Epoch} after {c.BatchesDone} batch(es); PartialModel and its checkpoint continue it."
            : "Training was cancelled before it started; there is nothing to continue from.", token)
    {
        PartialModel = partialModel;
        InputSchema = inputSchema;
    }

    /// <summary>The model at the cancelled batch, with the checkpoint; null when cancelled before training started.</summary>
    public TransferTrainTransformer? PartialModel { get; }

    /// <summary>The schema the estimator was fitted on: what <c>mlContext.Model.Save</c> needs with <see cref="PartialModel"/>.</summary>
    public DataViewSchema InputSchema { get; }
}

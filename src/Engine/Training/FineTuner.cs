using System.Diagnostics;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>The training loop: batches from compact byte tensors, the strategy's trainable groups with their
/// learning rates, a schedule, the best epoch by validation accuracy restored at the end, early stopping that waits
/// for the schedule's peak, progress events, cancellation after the current batch with a checkpoint to resume from,
/// and a clear stop on a non-finite loss.</summary>
public static class FineTuner
{
    /// <summary>Trains <paramref name="model"/> in place; on return it holds the best epoch's weights and is in eval
    /// mode (when cancelled: the current weights, see <see cref="TrainingResult.Checkpoint"/>).</summary>
    public static TrainingResult Fit(nn.Module<Tensor, Tensor> model, StrategyPlan plan, Preprocessing preprocessing,
        ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, TrainingContext? context = null)
    {
        options.Validate();
        return Train(model, plan, preprocessing, train, validation, options, context);
    }

    /// <summary><see cref="Fit"/> on options validated where they came in (the recipe's run), whose checkpoints name the
    /// training rows it left out (<paramref name="excludedRows"/>, so that the resumed run leaves them out too).</summary>
    internal static TrainingResult Train(nn.Module<Tensor, Tensor> model, StrategyPlan plan, Preprocessing preprocessing,
        ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, TrainingContext? context = null,
        IReadOnlyList<long>? excludedRows = null)
    {
        context ??= new TrainingContext();
        using var turn = SeededRunGate.Enter(context.Log, context.Cancellation); // re-entrant: the recipe's run holds it already
        using var allocator = AllocatorTuning.Begin(); // freed step memory is reused, not faulted in again each step
        if (validation != null && !validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("the validation set's class names differ from the training set's", nameof(validation));

        ImageTensorDataset? ownedTrain = null, ownedValidation = null;
        if (validation == null && options.ValidationFraction > 0)
        {
            var (trainRows, validationRows) = StratifiedSplit.Split(train.Labels.data<long>().ToArray(), options.ValidationFraction, options.Seed);
            ownedTrain = train.Subset(trainRows);
            ownedValidation = validationRows.Count > 0 ? train.Subset(validationRows) : null;
            (train, validation) = (ownedTrain, ownedValidation);
        }
        try
        {
            options = options.ResumedFrom(context.Resume).WithBatchSizeFor(context.TrainingDevice, train.Count, plan.Architecture, train.Side, context.Log);
            return new FineTuneLoop(model, plan, preprocessing, train, validation, options, context, excludedRows ?? []).Execute();
        }
        finally
        {
            ownedTrain?.Dispose();
            ownedValidation?.Dispose();
        }
    }

    /// <summary>Mean cross-entropy and accuracy of <paramref name="model"/> on <paramref name="data"/>, in eval mode.</summary>
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, Preprocessing preprocessing,
        ImageTensorDataset data, int batchSize, Device? device = null)
    {
        device ??= CPU;
        model.eval();
        using var _ = no_grad();
        using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
        using var correct = zeros(1, dtype: ScalarType.Int64, device: device);
        for (long start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long end = Math.Min(start + batchSize, data.Count);
            var x = preprocessing.Normalize(data.Slice(start, end - start).to(device));
            var y = data.Labels.narrow(0, start, end - start).to(device);
            var logits = model.call(x);
            lossSum.PlusInPlace(nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64));
            correct.PlusInPlace(logits.argmax(1).eq(y).sum());
        }
        return (lossSum.item<double>() / data.Count, (double)correct.item<long>() / data.Count);
    }
}

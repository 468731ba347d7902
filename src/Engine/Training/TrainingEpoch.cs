using System.Diagnostics;
using MlNetTransfer.Engine.Data;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>One epoch of the fine-tuning loop: its shuffle (a function of seed and epoch), its batches prepared ahead,
/// the schedule's rate at each step, the forward and backward passes and the optimizer's step, and the loss and
/// accuracy sums kept on the device and read back now and then. It stops at a cancellation (after the current batch)
/// or a non-finite loss.</summary>
internal sealed class TrainingEpoch(nn.Module<Tensor, Tensor> network, IOptimizerStep optimizer, IReadOnlyList<double> baseRates,
    FineTuneOptions options, TrainingContext context, TimeSpan readInterval, Tensor? classWeights, long images, int batches, long totalSteps,
    Func<long[], int, int, (Tensor X, Tensor Y)> batchOf)
{
    readonly Device _device = context.TrainingDevice;

    /// <summary>Epoch <paramref name="epoch"/> from its first batch, or from where <paramref name="resumedHere"/> stopped
    /// in it. <paramref name="prefetch"/> batches are prepared ahead; <paramref name="clock"/> times the epoch.</summary>
    public EpochOutcome Run(int epoch, TrainingCheckpoint? resumedHere, int prefetch, Stopwatch clock)
    {
        var order = Enumerable.Range(0, (int)images).Select(i => (long)i).ToArray();
        new Random(SeedMix.Of(options.Seed, epoch)).Shuffle(order);
        int firstBatch = resumedHere?.BatchesDone ?? 0;
        double rate = baseRates[^1];
        long seenNow = 0;
        bool cancelled = false;
        string? diverged = null;
        using var sums = resumedHere != null ? new EpochSums(_device, readInterval, resumedHere.EpochLossSum, resumedHere.EpochCorrect, resumedHere.EpochSeen)
            : new EpochSums(_device, readInterval);
        int batch = firstBatch;
        using var batchesAhead = new BatchProducer(b => batchOf(order, b, epoch), firstBatch, batches, prefetch);
        for (; batch < batches; batch++)
        {
            if (context.Cancellation.IsCancellationRequested) { cancelled = true; break; }
            using var scope = NewDisposeScope();
            random.manual_seed(SeedMix.Of(options.Seed, epoch, batch)); // dropout: the same draws after a resume
            var (x, y) = batchesAhead.Next();
            scope.Attach(x, y);

            long step = (long)(epoch - 1) * batches + batch;
            double factor = options.Schedule.Factor(step, totalSteps);
            for (int g = 0; g < optimizer.Groups; g++) optimizer.SetRate(g, baseRates[g] * factor);
            rate = baseRates[^1] * factor;

            optimizer.ZeroGrad();
            var logits = network.call(x);
            var loss = nn.functional.cross_entropy(logits, y, weight: classWeights, label_smoothing: options.LabelSmoothing);
            long n = y.shape[0];
            sums.AddLoss(loss, n); // on the device: nothing here waits for it
            if (sums.EachBatch && sums.ReadNonFinite() > 0)
            {
                diverged = $"the training loss became non-finite at epoch {epoch}, batch {batch + 1} (learning rate {rate:g3})";
                break;
            }
            loss.backward();
            optimizer.Step();
            sums.AddCorrect(logits, y);
            seenNow += n;
            if (sums.Due || batch == batches - 1)
            {
                sums.Read();
                if (sums.NonFinite > 0)
                {
                    // read now and then on a GPU: the steps since are undone with the best weights
                    diverged = $"the training loss became non-finite at epoch {epoch}, by batch {batch + 1} (learning rate {rate:g3})";
                    break;
                }
            }
            context.Progress?.Report(new TrainingProgress(epoch, options.Epochs, batch + 1, batches,
                sums.LossSum / Math.Max(sums.Seen, 1), (double)sums.Correct / Math.Max(sums.Seen, 1), rate, seenNow / clock.Elapsed.TotalSeconds));
        }
        if (cancelled) sums.Read(); // the batches done, exactly, for the resumed run
        return new EpochOutcome(sums.LossSum, sums.Correct, sums.Seen, rate, seenNow, batch, cancelled, diverged);
    }
}

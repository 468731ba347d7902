using System.Diagnostics;
using MlNetTransfer.Engine.Data;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>One run of <see cref="FineTuner.Fit"/>. Every random draw is a function of (seed, epoch, batch): the
/// epoch's shuffle, the batch's augmentation, torch's generator for dropout. So a run resumed from a
/// <see cref="TrainingCheckpoint"/> continues exactly as the uninterrupted run would have.</summary>
internal sealed class FineTuneLoop(nn.Module<Tensor, Tensor> model, StrategyPlan plan, Preprocessing preprocessing,
    ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, TrainingContext context)
{
    readonly Device _device = context.TrainingDevice;
    readonly bool _channelsLast = ChannelsLast.Applies(options.ChannelsLast, context.TrainingDevice);
    readonly TimeSpan _readInterval = context.DeviceReadInterval
        ?? (context.TrainingDevice.type == DeviceType.CPU ? TimeSpan.Zero : TimeSpan.FromSeconds(0.25));
    Dictionary<string, Tensor>? _best;
    FrozenFeatureCache? _trainCache, _validationCache;

    public TrainingResult Execute()
    {
        random.manual_seed(options.Seed);
        using var tf32 = _device.type == DeviceType.CUDA ? new Devices.Tf32Scope() : null;
        model.to(_device);
        if (_channelsLast) ChannelsLast.Apply(model);
        var groups = plan.Apply(model);
        using var optimizer = CreateOptimizer(groups);
        var baseRates = groups.Select(g => options.LearningRate * g.RateScale).ToArray();
        using var classWeights = options.BalanceClasses ? tensor(ClassWeights.Balanced(train.ClassCounts), device: _device) : null;
        bool augment = options.Augment ?? !plan.BackboneFrozen;
        bool trainBatchNorm = options.BatchNormStatisticsTrain;
        var augmenter = augment ? new Augmenter(options.Seed) : null;
        var head = options.CacheFrozenFeatures && plan.BackboneFrozen && !augment ? Head() : null;
        // on a GPU, images that fit are copied there once: batches are then gathered on the device, with no host copy
        bool resident = _device.type == DeviceType.CUDA && head == null && train.Bytes + (validation?.Bytes ?? 0) <= context.DeviceStoreBytes;
        using var trainOnDevice = resident ? train.ToDevice(_device) : null;
        using var validationOnDevice = resident ? validation?.ToDevice(_device) : null;
        var batchSource = trainOnDevice ?? train; // where training batches are gathered: the store, or its copy on the GPU
        var validationData = validationOnDevice ?? validation;

        int batches = (int)((train.Count + options.Batch - 1) / options.Batch);
        long totalSteps = (long)batches * options.Epochs, annealedStep = options.Schedule.AnnealedStep(totalSteps);
        var resume = context.Resume;
        var history = new List<EpochSummary>(resume?.History ?? []);
        double bestAccuracy = resume?.BestAccuracy ?? double.NegativeInfinity, bestLoss = resume?.BestLoss ?? double.PositiveInfinity;
        int bestEpoch = resume?.BestEpoch ?? 0, sinceBest = resume?.SinceBest ?? 0, firstEpoch = resume?.Epoch ?? 1;
        if (resume != null)
        {
            if (resume.TrainImages > 0 && resume.TrainImages != train.Count)
                throw new ArgumentException($"the checkpoint was taken training on {resume.TrainImages} images and this data gives {train.Count}: " +
                    "a resumed run needs the images the interrupted one had (the splits and every epoch's order follow from them)", "ResumeFrom");
            using var state = new BinaryReader(new MemoryStream(resume.OptimizerState));
            optimizer.Load(state);
            _best = resume.BestWeights.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }
        else Snapshot();
        bool cancelled = false, stoppedEarly = false, diverged = false;
        string? stopReason = null;
        TrainingCheckpoint? checkpoint = null;

        try
        {
            if (head == null) WarmUp(optimizer, batchSource);
            AllocatorTuning.BeginPass(); // the epochs' working set is their own: measured from the first epoch's end
            for (int epoch = firstEpoch; epoch <= options.Epochs && !cancelled; epoch++)
            {
                var clock = Stopwatch.StartNew();
                if (head != null && _trainCache == null)
                {
                    _trainCache = FrozenFeatureCache.Build(model, head, preprocessing, train, options.Batch, _device);
                    if (validation != null)
                        _validationCache = FrozenFeatureCache.Build(model, head, preprocessing, validation, options.Batch, _device);
                }
                if (head != null) head.train();
                else
                {
                    model.train();
                    plan.FreezeBatchNormStatistics(model, all: !trainBatchNorm);
                }
                var order = Enumerable.Range(0, (int)train.Count).Select(i => (long)i).ToArray();
                new Random(SeedMix.Of(options.Seed, epoch)).Shuffle(order);
                bool resumedEpoch = resume != null && epoch == resume.Epoch;
                int firstBatch = resumedEpoch ? resume!.BatchesDone : 0;
                double rate = baseRates[^1];
                long seenNow = 0;
                using var sums = resumedEpoch ? new EpochSums(_device, _readInterval, resume!.EpochLossSum, resume.EpochCorrect, resume.EpochSeen)
                    : new EpochSums(_device, _readInterval);
                int batch = firstBatch, epochNow = epoch;
                using var batchesAhead = new BatchProducer(b => Batch(batchSource, order, b, augmenter, epochNow), firstBatch, batches,
                    _trainCache != null ? 0 : context.PrefetchBatches);
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
                    var logits = head != null ? head.call(x) : model.call(x);
                    var loss = nn.functional.cross_entropy(logits, y, weight: classWeights, label_smoothing: options.LabelSmoothing);
                    long n = y.shape[0];
                    sums.AddLoss(loss, n); // on the device: nothing here waits for it
                    if (sums.EachBatch && sums.ReadNonFinite() > 0)
                    {
                        (diverged, stopReason) = (true, $"the training loss became non-finite at epoch {epoch}, batch {batch + 1} (learning rate {rate:g3})");
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
                            // read now and then on a GPU: the steps since are undone with the best weights below
                            (diverged, stopReason) = (true, $"the training loss became non-finite at epoch {epoch}, by batch {batch + 1} (learning rate {rate:g3})");
                            break;
                        }
                    }
                    context.Progress?.Report(new TrainingProgress(epoch, options.Epochs, batch + 1, batches,
                        sums.LossSum / Math.Max(sums.Seen, 1), (double)sums.Correct / Math.Max(sums.Seen, 1), rate, seenNow / clock.Elapsed.TotalSeconds));
                }
                if (diverged) break;
                if (cancelled)
                {
                    sums.Read(); // the batches done, exactly, for the resumed run
                    checkpoint = Checkpoint(optimizer, epoch, batch, sums.LossSum, sums.Correct, sums.Seen, history, bestEpoch, bestAccuracy, bestLoss, sinceBest);
                    break;
                }

                AllocatorTuning.Trim(); // once an epoch: the heap does not creep up over a long run
                double trainLoss = sums.LossSum / Math.Max(sums.Seen, 1), trainAccuracy = (double)sums.Correct / Math.Max(sums.Seen, 1), seconds = clock.Elapsed.TotalSeconds;
                (double Loss, double Accuracy)? validated = validation == null ? null
                    : _validationCache != null && head != null ? EvaluateCached(head, _validationCache)
                    : FineTuner.Evaluate(model, preprocessing, validationData!, options.Batch, _device);
                var summary = new EpochSummary(epoch, trainLoss, trainAccuracy, validated?.Loss, validated?.Accuracy, rate, seconds, seenNow / seconds);
                history.Add(summary);
                context.Progress?.Report(new TrainingProgress(epoch, options.Epochs, null, batches, trainLoss, trainAccuracy,
                    rate, summary.ImagesPerSecond, validated?.Loss, validated?.Accuracy));
                if (validated is { } v && !double.IsFinite(v.Loss))
                {
                    (diverged, stopReason) = (true, $"the validation loss became non-finite at epoch {epoch} (learning rate {rate:g3})");
                    break;
                }

                // validation accuracy decides (ties: lower loss); without validation, the training loss does. Only
                // epochs that end once the schedule has annealed the rate to half its peak compete: before that the
                // weights are mid-flight at a high rate, and on a small validation split one of them can score best
                // by chance (measured: an explicit WholeNetwork run on Fashion-MNIST 400 restored epoch 2 of 9 for
                // 81.2 % on 80 validation images and scored 78.5 % on the test set; the default run kept epoch 7: 85.1 %)
                double accuracy = validated?.Accuracy ?? 0, monitoredLoss = validated?.Loss ?? trainLoss;
                if ((long)epoch * batches <= annealedStep) continue;
                if (accuracy > bestAccuracy || (accuracy == bestAccuracy && monitoredLoss < bestLoss))
                {
                    (bestAccuracy, bestLoss, bestEpoch, sinceBest) = (accuracy, monitoredLoss, epoch, 0);
                    Snapshot();
                }
                else if (options.EarlyStoppingPatience > 0 && ++sinceBest >= options.EarlyStoppingPatience && epoch < options.Epochs)
                {
                    stoppedEarly = true;
                    stopReason = $"no better validation for {options.EarlyStoppingPatience} epoch(s)";
                    break;
                }
            }
            if (diverged)
            {
                // a diverged run ends like an early stop: the best epoch's weights, or the starting weights (with the
                // recipe, the solved classifier) when no epoch had counted yet, and the reason on the result
                stoppedEarly = true;
                stopReason += bestEpoch > 0 ? $"; kept epoch {bestEpoch}" : "; kept the starting weights";
            }
            if (!cancelled) Restore();
            model.eval();
            return new TrainingResult(history, bestEpoch, stoppedEarly, cancelled, plan.Describe(), checkpoint, stopReason, diverged, options.Batch);
        }
        finally
        {
            if (_channelsLast) ChannelsLast.Revert(model);
            DisposeSnapshot();
            _trainCache?.Dispose();
            _validationCache?.Dispose();
        }
    }

    /// <summary>Steps that are not training: forward and backward passes on the first images with every BatchNorm
    /// layer in eval mode and the gradients zeroed after, so neither the model nor the optimizer changes. On a GPU they
    /// take the first use's costs (kernel selection, workspaces, the allocator's growth) out of epoch 1's time and
    /// images per second, and so out of the progress ETA.</summary>
    void WarmUp(IOptimizerStep optimizer, ImageTensorDataset source)
    {
        int steps = context.WarmUpSteps ?? (_device.type == DeviceType.CPU ? 0 : 1);
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(TrainingContext.WarmUpSteps), steps, "must be 0 or more");
        if (steps == 0) return;
        var clock = Stopwatch.StartNew();
        model.train();
        plan.FreezeBatchNormStatistics(model, all: true);
        var first = Enumerable.Range(0, (int)Math.Min(options.Batch, source.Count)).Select(i => (long)i).ToArray();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(source, first, 0, augmenter: null, epoch: 0);
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            loss.item<float>(); // waits for the device: the warm-up's time is its own
        }
        optimizer.ZeroGrad();
        context.Log?.Invoke($"warm-up: {steps} untimed step(s) on {first.Length} images, {clock.Elapsed.TotalSeconds:0.00} s, not counted in epoch 1");
    }

    TrainingCheckpoint Checkpoint(IOptimizerStep optimizer, int epoch, int batchesDone, double lossSum, long correct, long seen,
        List<EpochSummary> history, int bestEpoch, double bestAccuracy, double bestLoss, int sinceBest)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.Save(writer);
        var best = _best!.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        return new TrainingCheckpoint
        {
            Strategy = plan.Strategy, ImageSize = train.Side, BatchSize = options.Batch, Epochs = options.Epochs, TrainImages = train.Count, Epoch = epoch, BatchesDone = batchesDone,
            EpochLossSum = lossSum, EpochCorrect = correct, EpochSeen = seen, History = history.ToList(), BestEpoch = bestEpoch,
            BestAccuracy = bestAccuracy, BestLoss = bestLoss, SinceBest = sinceBest, OptimizerState = buffer.ToArray(), BestWeights = best,
        };
    }

    nn.Module<Tensor, Tensor> Head() =>
        model.named_modules().FirstOrDefault(m => m.name == plan.Architecture.ClassifierPrefix).module as nn.Module<Tensor, Tensor>
        ?? throw new InvalidOperationException($"{plan.Architecture.Name}: no module named {plan.Architecture.ClassifierPrefix}");

    /// <summary>Training batch <paramref name="batch"/> of an epoch's <paramref name="order"/> on the device: cached
    /// features, or images read from the store, normalised (and maybe augmented). A function of (order, epoch, batch)
    /// alone, so it may run ahead on the producer's thread.</summary>
    (Tensor X, Tensor Y) Batch(ImageTensorDataset source, long[] order, int batch, Augmenter? augmenter, int epoch)
    {
        var rows = order.AsSpan(batch * options.Batch, Math.Min(options.Batch, order.Length - batch * options.Batch));
        var index = tensor(rows.ToArray());
        if (_trainCache != null)
            return (_trainCache.Features.index_select(0, index.to(_device)), _trainCache.Labels.index_select(0, index.to(_device)));
        var bytes = source.Gather(rows);
        if (bytes.device_type == DeviceType.CPU && _device.type == DeviceType.CUDA)
            bytes = bytes.pin_memory(); // page-locked: the copy below runs asynchronously, behind the current step
        var x = bytes.to(_device.type, _device.index, non_blocking: true).to_type(ScalarType.Float32);
        if (augmenter != null) x = augmenter.Apply(x, epoch, batch);
        if (_channelsLast) x = ChannelsLast.Of(x); // normalising keeps the layout
        return (preprocessing.Normalize(x), source.Labels.index_select(0, index).to(_device));
    }

    (double Loss, double Accuracy) EvaluateCached(nn.Module<Tensor, Tensor> head, FrozenFeatureCache cache)
    {
        head.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var logits = head.call(cache.Features);
        double loss = nn.functional.cross_entropy(logits, cache.Labels).item<float>();
        double accuracy = logits.argmax(1).eq(cache.Labels).to_type(ScalarType.Float64).mean().item<double>();
        return (loss, accuracy);
    }

    /// <summary>The flat-buffer step where the parameters are contiguous (by default: whenever the weights are not
    /// channels-last, so on a GPU), else TorchSharp's optimizer. The model is the same either way.</summary>
    IOptimizerStep CreateOptimizer(IReadOnlyList<(IReadOnlyList<Parameter> Parameters, double RateScale)> groups)
    {
        if (groups.Count == 0) throw new InvalidOperationException($"strategy {plan.Strategy} leaves nothing to train");
        if (!_channelsLast && (context.FlatOptimizer ?? true))
            return new FlatOptimizer(groups.Select(g => (g.Parameters, options.LearningRate * g.RateScale)), options.Optimizer, options.WeightDecay);
        OptimizerHelper optimizer = options.Optimizer switch
        {
            OptimizerKind.AdamW => optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Parameters,
                lr: options.LearningRate * g.RateScale, weight_decay: options.WeightDecay)), lr: options.LearningRate),
            OptimizerKind.Sgd => optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Parameters,
                lr: options.LearningRate * g.RateScale, momentum: FineTuneOptions.SgdMomentum, weight_decay: options.WeightDecay, nesterov: true)), options.LearningRate),
            _ => throw new ArgumentOutOfRangeException(nameof(options.Optimizer), options.Optimizer, null),
        };
        return new TorchOptimizerStep(optimizer, _channelsLast);
    }

    void Snapshot()
    {
        DisposeSnapshot();
        // Frozen groups never change, so only the trainable groups' tensors are kept (a head-only VGG16 snapshot is
        // 16 MB, not 550). state_dict() and detach() hand out new handles on every call: dispose them, keep the clones.
        using var scope = NewDisposeScope();
        _best = model.state_dict()
            .Where(kv => plan.Trainable[plan.Architecture.GroupIndexOf(kv.Key)])
            .ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous().clone().MoveToOuterDisposeScope());
    }

    void Restore()
    {
        if (_best == null) return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in model.state_dict())
            if (_best.TryGetValue(name, out var saved)) tensor.copy_(saved); // in place: keeps the layout and the optimizer's parameters
    }

    void DisposeSnapshot()
    {
        if (_best == null) return;
        foreach (var t in _best.Values) t.Dispose();
        _best = null;
    }
}

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
    ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, TrainingContext context, IReadOnlyList<long> excludedRows)
{
    readonly Device _device = context.TrainingDevice;
    readonly bool _channelsLast = ChannelsLast.Applies(options.ChannelsLast, context.TrainingDevice);
    readonly TimeSpan _readInterval = context.DeviceReadInterval
        ?? (context.TrainingDevice.type == DeviceType.CPU ? TimeSpan.Zero : TimeSpan.FromSeconds(0.25));
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
        var augmenter = augment ? new Augmenter(options.Seed) : null;
        var head = options.CacheFrozenFeatures && plan.BackboneFrozen && !augment ? Head() : null;
        // on a GPU, images that fit are copied there once: batches are then gathered on the device, with no host copy
        bool resident = _device.type == DeviceType.CUDA && head == null && train.Bytes + (validation?.Bytes ?? 0) <= context.DeviceStoreBytes;
        using var trainOnDevice = resident ? train.ToDevice(_device) : null;
        using var validationOnDevice = resident ? validation?.ToDevice(_device) : null;
        var batchSource = trainOnDevice ?? train; // where training batches are gathered: the store, or its copy on the GPU
        var validationData = validationOnDevice ?? validation;

        // a last batch of one image would train BatchNorm on that image alone: over a 1×1 map (a ResNet's last stage
        // under 64 px) one value per channel, whose unbiased variance libtorch takes as NaN into the running statistics
        // (PyTorch's Python API refuses the batch; elsewhere the statistics of one image), and every later evaluation is
        // NaN. That image sits the epoch out — another one each epoch, as the shuffle moves — as fastai's drop_last does.
        int batches = Math.Max(1, (int)(train.Count / options.Batch) + (train.Count % options.Batch > 1 ? 1 : 0));
        long totalSteps = (long)batches * options.Epochs, annealedStep = options.Schedule.AnnealedStep(totalSteps);
        var resume = context.Resume;
        var history = new List<EpochSummary>(resume?.History ?? []);
        if (resume != null) Resume(resume, optimizer);
        using var best = resume != null ? BestEpochTracker.Resumed(model, plan, resume) : BestEpochTracker.Start(model, plan);
        var epochs = new TrainingEpoch(head ?? model, optimizer, baseRates, options, context, _readInterval, classWeights, train.Count, batches, totalSteps,
            (order, batch, epoch) => Batch(batchSource, order, batch, augmenter, epoch));
        bool cancelled = false, stoppedEarly = false, diverged = false;
        string? stopReason = null;
        TrainingCheckpoint? checkpoint = null;
        var sinceCheckpoint = Stopwatch.StartNew();

        try
        {
            if (head == null) WarmUp(optimizer, batchSource);
            AllocatorTuning.BeginPass(); // the epochs' working set is their own: measured from the first epoch's end
            for (int epoch = resume?.Epoch ?? 1; epoch <= options.Epochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                TrainMode(head);
                var done = epochs.Run(epoch, resume != null && epoch == resume.Epoch ? resume : null, _trainCache != null ? 0 : context.PrefetchBatches, clock);
                if (done.Diverged != null)
                {
                    (diverged, stopReason) = (true, done.Diverged);
                    break;
                }
                if (done.Cancelled)
                {
                    cancelled = true;
                    checkpoint = best.SaveTo(Checkpoint(optimizer, epoch, done, history));
                    break;
                }

                AllocatorTuning.Trim(); // once an epoch: the heap does not creep up over a long run
                var summary = Summarise(epoch, done, clock.Elapsed.TotalSeconds, batches, head, validationData);
                history.Add(summary);
                if (summary.ValidationLoss is { } validationLoss && !double.IsFinite(validationLoss))
                {
                    (diverged, stopReason) = (true, $"the validation loss became non-finite at epoch {epoch} (learning rate {done.Rate:g3})");
                    break;
                }

                // Only epochs that end once the schedule has annealed the rate to half its peak compete: before that the
                // weights are mid-flight at a high rate, and on a small validation split one of them can score best
                // by chance (measured: an explicit WholeNetwork run on Fashion-MNIST 400 restored epoch 2 of 9 for
                // 81.2 % on 80 validation images and scored 78.5 % on the test set; the default run kept epoch 7: 85.1 %)
                if ((long)epoch * batches > annealedStep
                    && !best.Offer(epoch, summary.ValidationAccuracy ?? 0, summary.ValidationLoss ?? done.TrainLoss)
                    && best.OutOfPatience(options.EarlyStoppingPatience) && epoch < options.Epochs)
                {
                    stoppedEarly = true;
                    stopReason = $"no better validation for {options.EarlyStoppingPatience} epoch(s)";
                    break;
                }
                if (epoch < options.Epochs && context.Checkpoint != null && sinceCheckpoint.Elapsed >= context.CheckpointInterval)
                {
                    KeepCheckpoint(optimizer, epoch, history, best);
                    sinceCheckpoint.Restart();
                }
            }
            if (diverged)
            {
                // a diverged run ends like an early stop: the best epoch's weights, or the starting weights (with the
                // recipe, the solved classifier) when no epoch had counted yet, and the reason on the result
                stoppedEarly = true;
                stopReason += best.Epoch > 0 ? $"; kept epoch {best.Epoch}" : "; kept the starting weights";
            }
            if (!cancelled) best.Restore();
            model.eval();
            return new TrainingResult(history, best.Epoch, stoppedEarly, cancelled, plan.Describe(), checkpoint, stopReason, diverged, options.Batch);
        }
        finally
        {
            if (_channelsLast) ChannelsLast.Revert(model);
            _trainCache?.Dispose();
            _validationCache?.Dispose();
        }
    }

    /// <summary>A resumed run's optimizer state taken back, once the data is seen to be the interrupted run's size.</summary>
    void Resume(TrainingCheckpoint resume, IOptimizerStep optimizer)
    {
        if (resume.TrainImages > 0 && resume.TrainImages != train.Count)
            throw new ArgumentException($"the checkpoint was taken training on {resume.TrainImages} images and this data gives {train.Count}: " +
                "a resumed run needs the images the interrupted one had (the splits and every epoch's order follow from them)", "ResumeFrom");
        using var state = new BinaryReader(new MemoryStream(resume.OptimizerState));
        optimizer.Load(state);
    }

    /// <summary>A trained epoch's summary — its training numbers and the validation images' loss and accuracy (from the
    /// cached features when only the head trains) — reported as progress.</summary>
    EpochSummary Summarise(int epoch, EpochOutcome done, double seconds, int batches, nn.Module<Tensor, Tensor>? head,
        ImageTensorDataset? validationData)
    {
        (double Loss, double Accuracy)? validated = validationData == null ? null
            : _validationCache != null && head != null ? EvaluateCached(head, _validationCache)
            : FineTuner.Evaluate(model, preprocessing, validationData, options.Batch, _device);
        var summary = new EpochSummary(epoch, done.TrainLoss, done.TrainAccuracy, validated?.Loss, validated?.Accuracy, done.Rate, seconds, done.SeenNow / seconds);
        context.Progress?.Report(new TrainingProgress(epoch, options.Epochs, null, batches, done.TrainLoss, done.TrainAccuracy,
            done.Rate, summary.ImagesPerSecond, validated?.Loss, validated?.Accuracy));
        return summary;
    }

    /// <summary>Before an epoch: the head's features cached on its first (the backbone frozen and not augmented), and
    /// the trained modules in training mode (BatchNorm statistics as the options say).</summary>
    void TrainMode(nn.Module<Tensor, Tensor>? head)
    {
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
            plan.FreezeBatchNormStatistics(model, all: !options.BatchNormStatisticsTrain);
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

    /// <summary>Where a cancelled epoch stopped (<paramref name="done"/>; null: before the next epoch's first batch),
    /// with the optimizer's state; the best-epoch tracker adds itself.</summary>
    TrainingCheckpoint Checkpoint(IOptimizerStep optimizer, int epoch, EpochOutcome? done, List<EpochSummary> history)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.Save(writer);
        return new TrainingCheckpoint
        {
            Architecture = plan.Architecture.Name, ExcludedRows = excludedRows, Strategy = plan.Strategy, ImageSize = train.Side, BatchSize = options.Batch,
            Epochs = options.Epochs, TrainImages = train.Count, Epoch = epoch, BatchesDone = done?.BatchReached ?? 0, EpochLossSum = done?.LossSum ?? 0,
            EpochCorrect = done?.Correct ?? 0, EpochSeen = done?.Seen ?? 0, History = history.ToList(), OptimizerState = buffer.ToArray(),
        };
    }

    /// <summary>At the end of <paramref name="epoch"/>, while training goes on: the run as it stands before the next
    /// epoch, with the whole network's weights (the layout it trains in undone), handed to
    /// <see cref="TrainingContext.Checkpoint"/>.</summary>
    void KeepCheckpoint(IOptimizerStep optimizer, int epoch, List<EpochSummary> history, BestEpochTracker best)
    {
        Dictionary<string, Tensor> weights;
        using (var scope = NewDisposeScope()) // state_dict() hands out new handles: dispose them, keep the copies
            weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous().clone().MoveToOuterDisposeScope());
        var kept = best.SaveTo(Checkpoint(optimizer, epoch + 1, null, history)) with { Weights = weights };
        try
        {
            context.Checkpoint!(kept);
        }
        finally
        {
            kept.DisposeTensors();
        }
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

    /// <summary>The flat-buffer step (by default), else TorchSharp's optimizer. The model is the same either way; the
    /// flat step launches a few kernels per group, not nine per parameter tensor, and holds its Scalars.</summary>
    IOptimizerStep CreateOptimizer(IReadOnlyList<(IReadOnlyList<Parameter> Parameters, double RateScale)> groups)
    {
        if (groups.Count == 0) throw new InvalidOperationException($"strategy {plan.Strategy} leaves nothing to train");
        if (context.FlatOptimizer ?? true)
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
}

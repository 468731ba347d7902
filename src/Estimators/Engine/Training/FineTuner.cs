using System.Diagnostics;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>The training loop: batches from compact byte tensors, the strategy's trainable groups with their
/// learning rates, a schedule, early stopping on validation loss with the best epoch restored, progress events,
/// cancellation after the current batch, and a clear stop on a non-finite loss.</summary>
public static class FineTuner
{
    /// <summary>Trains <paramref name="model"/> in place; on return it holds the best epoch's weights and is in eval mode.</summary>
    public static TrainingResult Fit(nn.Module<Tensor, Tensor> model, StrategyPlan plan, Preprocessing preprocessing,
        ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
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
            return new Run(model, plan, preprocessing, train, validation, options, cancellation).Execute();
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
        double lossSum = 0;
        long correct = 0;
        for (long start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long end = Math.Min(start + batchSize, data.Count);
            var x = preprocessing.Normalize(data.Images.narrow(0, start, end - start).to(device));
            var y = data.Labels.narrow(0, start, end - start).to(device);
            var logits = model.call(x);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(y).sum().item<long>();
        }
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    sealed class Run(nn.Module<Tensor, Tensor> model, StrategyPlan plan, Preprocessing preprocessing,
        ImageTensorDataset train, ImageTensorDataset? validation, FineTuneOptions options, CancellationToken cancellation)
    {
        readonly Device _device = options.Device ?? CPU;
        readonly bool _channelsLast = Training.ChannelsLast.Applies(options.ChannelsLast, options.Device ?? CPU);
        Dictionary<string, Tensor>? _best;
        FrozenFeatureCache? _trainCache, _validationCache;

        public TrainingResult Execute()
        {
            random.manual_seed(options.Seed);
            model.to(_device);
            if (_channelsLast) Training.ChannelsLast.Apply(model);
            var groups = plan.Apply(model);
            using var optimizer = CreateOptimizer(groups);
            var controllers = optimizer.ParamGroups.ToList();
            var baseRates = groups.Select(g => options.LearningRate * g.RateScale).ToArray();
            using var classWeights = options.BalanceClasses ? BalancedWeights() : null;
            var augmenter = options.Augment ? new Augmenter(options.Seed) : null;
            var shuffler = new Random(options.Seed);
            var head = UseFeatureCache ? Head() : null;

            int batches = (int)((train.Count + options.BatchSize - 1) / options.BatchSize);
            long totalSteps = (long)batches * options.Epochs, step = 0;
            var history = new List<EpochSummary>();
            double bestMonitored = double.PositiveInfinity;
            int bestEpoch = 0, sinceBest = 0;
            bool cancelled = false, stoppedEarly = false;
            Snapshot();

            try
            {
                for (int epoch = 1; epoch <= options.Epochs && !cancelled; epoch++)
                {
                    var clock = Stopwatch.StartNew();
                    if (head != null && _trainCache == null)
                    {
                        _trainCache = FrozenFeatureCache.Build(model, head, preprocessing, train, options.BatchSize, _device);
                        if (validation != null)
                            _validationCache = FrozenFeatureCache.Build(model, head, preprocessing, validation, options.BatchSize, _device);
                    }
                    if (head != null) head.train();
                    else
                    {
                        model.train();
                        plan.FreezeBatchNormStatistics(model);
                    }
                    var order = Enumerable.Range(0, (int)train.Count).Select(i => (long)i).ToArray();
                    shuffler.Shuffle(order);
                    double lossSum = 0, rate = baseRates[^1];
                    long correct = 0, seen = 0;
                    for (int batch = 0; batch < batches; batch++)
                    {
                        if (cancellation.IsCancellationRequested) { cancelled = true; break; }
                        using var scope = NewDisposeScope();
                        using var index = tensor(order[(batch * options.BatchSize)..Math.Min((batch + 1) * options.BatchSize, order.Length)]);
                        var (x, y) = Batch(index, augmenter);

                        double factor = options.Schedule.Factor(step++, totalSteps);
                        for (int g = 0; g < controllers.Count; g++) controllers[g].LearningRate = baseRates[g] * factor;
                        rate = baseRates[^1] * factor;

                        optimizer.zero_grad();
                        var logits = head != null ? head.call(x) : model.call(x);
                        var loss = nn.functional.cross_entropy(logits, y, weight: classWeights, label_smoothing: options.LabelSmoothing);
                        double value = loss.item<float>();
                        if (!double.IsFinite(value))
                        {
                            Restore();
                            throw new NonFiniteLossException(epoch, batch + 1, rate);
                        }
                        loss.backward();
                        optimizer.step();

                        long n = y.shape[0];
                        lossSum += value * n;
                        correct += logits.argmax(1).eq(y).sum().item<long>();
                        seen += n;
                        options.Progress?.Report(new TrainingProgress(epoch, options.Epochs, batch + 1, batches,
                            lossSum / seen, (double)correct / seen, rate, seen / clock.Elapsed.TotalSeconds));
                    }
                    if (seen == 0) break; // cancelled before the first batch of this epoch

                    double trainLoss = lossSum / seen, trainAccuracy = (double)correct / seen, seconds = clock.Elapsed.TotalSeconds;
                    (double Loss, double Accuracy)? validated = validation == null ? null
                        : _validationCache != null && head != null ? EvaluateCached(head, _validationCache)
                        : Evaluate(model, preprocessing, validation, options.BatchSize, _device);
                    var summary = new EpochSummary(epoch, trainLoss, trainAccuracy, validated?.Loss, validated?.Accuracy, rate, seconds, seen / seconds);
                    history.Add(summary);
                    options.Progress?.Report(new TrainingProgress(epoch, options.Epochs, null, batches, trainLoss, trainAccuracy,
                        rate, summary.ImagesPerSecond, validated?.Loss, validated?.Accuracy));

                    if (cancelled) break; // a partial epoch never becomes the best one
                    double monitored = validated?.Loss ?? trainLoss;
                    if (monitored < bestMonitored)
                    {
                        bestMonitored = monitored;
                        bestEpoch = epoch;
                        sinceBest = 0;
                        Snapshot();
                    }
                    else if (options.EarlyStoppingPatience > 0 && ++sinceBest >= options.EarlyStoppingPatience && epoch < options.Epochs)
                    {
                        stoppedEarly = true;
                        break;
                    }
                }
                Restore();
                model.eval();
                return new TrainingResult(history, bestEpoch, stoppedEarly, cancelled, plan.Describe());
            }
            finally
            {
                if (_channelsLast) Training.ChannelsLast.Revert(model);
                DisposeSnapshot();
                _trainCache?.Dispose();
                _validationCache?.Dispose();
            }
        }

        bool UseFeatureCache => options.CacheFrozenFeatures && plan.BackboneFrozen && !options.Augment;

        nn.Module<Tensor, Tensor> Head() =>
            model.named_modules().FirstOrDefault(m => m.name == plan.Architecture.ClassifierPrefix).module as nn.Module<Tensor, Tensor>
            ?? throw new InvalidOperationException($"{plan.Architecture.Name}: no module named {plan.Architecture.ClassifierPrefix}");

        /// <summary>A training batch on the device: cached features, or normalised (and maybe augmented) images.</summary>
        (Tensor X, Tensor Y) Batch(Tensor index, Augmenter? augmenter)
        {
            if (_trainCache != null)
                return (_trainCache.Features.index_select(0, index.to(_device)), _trainCache.Labels.index_select(0, index.to(_device)));
            var x = train.Images.index_select(0, index).to(_device);
            if (_channelsLast) x = Training.ChannelsLast.Of(x); // bytes: the cheapest copy; float and normalise keep the layout
            x = x.to_type(ScalarType.Float32);
            if (augmenter != null) x = augmenter.Apply(x);
            return (preprocessing.Normalize(x), train.Labels.index_select(0, index).to(_device));
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

        optim.Optimizer CreateOptimizer(IReadOnlyList<(IReadOnlyList<Parameter> Parameters, double RateScale)> groups)
        {
            if (groups.Count == 0) throw new InvalidOperationException($"strategy {plan.Strategy} leaves nothing to train");
            return options.Optimizer switch
            {
                OptimizerKind.AdamW => optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Parameters,
                    lr: options.LearningRate * g.RateScale, weight_decay: options.WeightDecay)), lr: options.LearningRate),
                OptimizerKind.Sgd => optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Parameters,
                    lr: options.LearningRate * g.RateScale, momentum: 0.9, weight_decay: options.WeightDecay, nesterov: true)), options.LearningRate),
                _ => throw new ArgumentOutOfRangeException(nameof(options.Optimizer), options.Optimizer, null),
            };
        }

        Tensor BalancedWeights() => tensor(ClassWeights.Balanced(train.ClassCounts), device: _device);

        void Snapshot()
        {
            DisposeSnapshot();
            // Frozen groups never change, so only the trainable groups' tensors are kept (a head-only VGG16 snapshot is
            // 16 MB, not 550). state_dict() and detach() hand out new handles on every call: dispose them, keep the clones.
            using var scope = NewDisposeScope();
            _best = model.state_dict()
                .Where(kv => plan.Trainable[plan.Architecture.GroupIndexOf(kv.Key)])
                .ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone().MoveToOuterDisposeScope());
        }

        void Restore()
        {
            if (_best == null) return;
            using var _ = no_grad();
            model.load_state_dict(_best, strict: false);
        }

        void DisposeSnapshot()
        {
            if (_best == null) return;
            foreach (var t in _best.Values) t.Dispose();
            _best = null;
        }
    }
}

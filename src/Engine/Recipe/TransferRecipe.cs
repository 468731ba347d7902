using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// The engine's one entry point for a fine-tuning run, called by the ML.NET estimator, the CLI and the benchmarks
/// alike. The recipe, as fastai's <c>fine_tune</c> reads:
/// <list type="number">
/// <item>seed, then the network with its starting weights and a new classifier;</item>
/// <item>the classifier solved to convergence on the frozen features at the weights' own side, its penalty chosen on
///   the validation split (<see cref="ConvergedHead"/>);</item>
/// <item>the strategy: the named one, or Auto's measured choice of strategy and image size within the time budget;</item>
/// <item>head only: the classifier refitted on every labelled image; otherwise the head solved at the training side,
///   then the strategy's groups unfrozen with their rates and trained from it (<see cref="FineTuner"/>);</item>
/// <item>under Auto, a deeper model that validates worse than the head gives way to the head.</item>
/// </list>
/// </summary>
public static class TransferRecipe
{
    public static RecipeResult Run(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation,
        TrainingContext? context = null)
    {
        context = Checked(options, train, validation, context);
        using var allocator = AllocatorTuning.Begin();
        return context.Resume == null ? new Execution(options, start, train, validation, context).Run() : Resume(options, start, train, validation, context);
    }

    /// <summary>The recipe up to the first training step, for a job that trains elsewhere (<c>job export</c>): the
    /// classifier solved on the frozen features and installed at the training side, the strategy resolved (Auto by the
    /// data alone, untimed: the job runs on other machines), and nothing trained. The result's history is empty.</summary>
    public static RecipeResult Prepare(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation,
        TrainingContext? context = null)
    {
        context = Checked(options, train, validation, context);
        using var allocator = AllocatorTuning.Begin();
        return new Execution(options, start, train, validation, context, prepareOnly: true).Run();
    }

    /// <summary>The options validated and the two sources' classes compared, before any work.</summary>
    static TrainingContext Checked(FineTuneOptions options, IImageSource train, IImageSource? validation, TrainingContext? context)
    {
        options.Validate();
        if (validation != null && !validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("the validation images' class names differ from the training images'", nameof(validation));
        return context ?? new TrainingContext();
    }

    /// <summary>Continues an interrupted run: the strategy and side it resolved, the weights it had (the starting
    /// point), and the loop's state from the checkpoint.</summary>
    static RecipeResult Resume(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation, TrainingContext context)
    {
        var resume = context.Resume!;
        var preprocessing = start.Preprocessing.At(resume.ImageSize);
        using var data = LabelledData.Read(train, validation, resume.ImageSize, options.ValidationFraction, options.Seed);
        using var trainSet = data.TrainSet();
        using var validationSet = data.ValidationSet();
        random.manual_seed(options.Seed);
        var model = start.CreateModel(train.ClassNames.Count);
        try
        {
            var plan = StrategyPlan.For(start.Architecture, resume.Strategy);
            var result = FineTuner.Fit(model, plan, preprocessing, trainSet, validationSet, WithoutSplit(options), context);
            var flip = FlipAfter(result, options, model, preprocessing, validationSet, context);
            model.to(CPU);
            return new RecipeResult(model, start.Architecture, preprocessing, resume.Strategy, null, null, result, start.Description) { Flip = flip };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The test-time flip for a trained network: decided on the validation images unless the run was
    /// cancelled.</summary>
    static FlipDecision FlipAfter(TrainingResult result, FineTuneOptions options, nn.Module<Tensor, Tensor> model, Weights.Preprocessing preprocessing,
        Training.ImageTensorDataset? validation, TrainingContext context)
    {
        var flip = result.Cancelled ? FlipDecision.NotMeasured("training was cancelled before it ended")
            : TestTimeFlip.Decide(options.TestTimeFlip, model, preprocessing, validation, result.BatchSize ?? FineTuneOptions.Defaults.BatchSize, context.TrainingDevice);
        context.Log?.Invoke($"test-time flip {flip.Reason}");
        return flip;
    }

    /// <summary>The loop's options once the recipe has split the data itself.</summary>
    static FineTuneOptions WithoutSplit(FineTuneOptions options)
    {
        var copy = options.Clone();
        copy.ValidationFraction = 0;
        return copy;
    }

    sealed class Execution(FineTuneOptions options, StartingPoint start, IImageSource source, IImageSource? validationSource, TrainingContext context,
        bool prepareOnly = false)
    {
        readonly Device _device = context.TrainingDevice;
        readonly bool _channelsLast = ChannelsLast.Applies(options.ChannelsLast, context.TrainingDevice);
        readonly int _classes = source.ClassNames.Count;
        void Log(string message) => context.Log?.Invoke(message);

        public RecipeResult Run()
        {
            int headSide = options.ImageSize ?? start.Preprocessing.InputSize;
            using var data = LabelledData.Read(source, validationSource, headSide, options.ValidationFraction, options.Seed);
            if (!options.BalanceClasses && ClassWeights.ImbalanceNote(data.All.ClassCounts, source.ClassNames) is { } imbalance) Log(imbalance);
            // the classifier alone may read more of the frozen network than the classifier deeper strategies train
            var wide = start.TrainedClassifier || start.Architecture.ClassifierAlone is not { } wideName ? null : ArchitectureRegistry.Get(wideName);
            random.manual_seed(options.Seed); // the new classifier's initial weights come from torch's generator
            var wideModel = wide == null ? null : start.CreateModel(_classes, wide);
            if (wide != null) random.manual_seed(options.Seed); // the network deeper strategies train draws as without it
            nn.Module<Tensor, Tensor> model = null!;
            try
            {
                model = start.CreateModel(_classes);
                // 1. the classifier, solved on the frozen features at the weights' own side
                var clock = Stopwatch.StartNew();
                Tensor computed = null!;
                Tensor? computedValidation;
                try
                {
                    computed = ConvergedHead.Features(wideModel ?? model, wide ?? start.Architecture, start.Preprocessing.At(headSide), data.All,
                        BatchAt(headSide, data), _device, _channelsLast, context.Cancellation);
                    computedValidation = data.SeparateValidation == null ? null
                        : ConvergedHead.Features(wideModel ?? model, wide ?? start.Architecture, start.Preprocessing.At(headSide), data.SeparateValidation,
                            BatchAt(headSide, data), _device, _channelsLast, context.Cancellation);
                }
                catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
                {
                    computed?.Dispose();
                    wideModel?.Dispose();
                    return Cancelled(model, headSide, options.Strategy, null, null);
                }
                using var _ = computed;
                using var __ = computedValidation;
                // the classifier deeper strategies start from reads the last columns (MultiLevelResNet puts the last
                // stage last): the same features, bit for bit, as the network computes them alone
                long width = ConvergedHead.InputWidth(model, start.Architecture);
                using var features = computed.narrow(1, computed.shape[1] - width, width).contiguous();
                using var validationFeatures = computedValidation?.narrow(1, computedValidation.shape[1] - width, width).contiguous();
                using var labels = data.All.Labels.to(_device);
                using var validationLabels = data.SeparateValidation?.Labels.to(_device);
                using var trainFeatures = data.TrainPart(features);
                using var trainLabels = data.TrainPart(labels);
                using var heldFeatures = validationFeatures?.alias() ?? (data.HasValidation ? data.ValidationPart(features) : null);
                using var heldLabels = validationLabels?.alias() ?? (data.HasValidation ? data.ValidationPart(labels) : null);
                using var classWeights = ClassWeightsOf(trainLabels);
                var (solved, head) = ConvergedHead.Choose(trainFeatures, trainLabels, heldFeatures, heldLabels, _classes, headSide,
                    options.HeadWeightDecay, classWeights);
                using var splitHead = solved; // the classifier fitted without the validation images
                head = head with { Seconds = clock.Elapsed.TotalSeconds };
                Log($"classifier: {head.Describe()} ({head.Seconds:0.0} s with the features)");

                // 2. the strategy
                AutoDecision? auto = null;
                var strategy = options.Strategy;
                int side = options.ImageSize ?? start.Preprocessing.InputSize;
                if (strategy == FineTuneStrategy.Auto)
                {
                    auto = Decide(model, data, heldLabels, head, headSide);
                    (strategy, side) = (auto.Strategy, auto.ImageSize);
                    Log($"strategy {strategy}: {auto.Reason}");
                    if (auto.Epochs != options.Epochs && strategy != FineTuneStrategy.HeadOnly)
                    {
                        options = options.Clone(); // cut to fit the budget
                        options.Epochs = auto.Epochs;
                    }
                }
                if (context.Cancellation.IsCancellationRequested)
                {
                    wideModel?.Dispose();
                    return Cancelled(model, headSide, strategy, head, auto);
                }

                // 3. head only: refit on every labelled image (the wide classifier where the architecture has one)
                RecipeResult ClassifierAlone(AutoDecision? decided)
                {
                    if (wide == null || wideModel == null)
                        return HeadOnly(model, data, features, labels, validationFeatures, validationLabels, head, solved, decided, start.Architecture);
                    (model, wideModel) = (wideModel, null); // the caller has disposed the network deeper strategies train
                    using var wideTrain = data.TrainPart(computed);
                    using var wideHeld = computedValidation?.alias() ?? (data.HasValidation ? data.ValidationPart(computed) : null);
                    var wideClock = Stopwatch.StartNew();
                    var (wideSolved, wideHead) = ConvergedHead.Choose(wideTrain, trainLabels, wideHeld, heldLabels, _classes, headSide,
                        options.HeadWeightDecay, classWeights);
                    using var ___ = wideSolved;
                    wideHead = wideHead with { Seconds = head.Seconds + wideClock.Elapsed.TotalSeconds };
                    Log($"classifier alone on {wide.Name}'s {computed.shape[1]} features: {wideHead.Describe()}");
                    return HeadOnly(model, data, computed, labels, computedValidation, validationLabels, wideHead, wideSolved, decided, wide);
                }
                if (strategy == FineTuneStrategy.HeadOnly)
                {
                    if (wideModel != null) model.Dispose();
                    return ClassifierAlone(auto);
                }

                // 3'. deeper: the head solved at the training side (a continued model keeps its trained one), then the
                // strategy's groups unfrozen, in batches of the size given or the device's default at that side
                wideModel?.Dispose(); // made again if the classifier alone is kept after all
                wideModel = null;
                options = options.WithBatchSizeFor(_device, data.TrainRows.Length, start.Architecture, side, Log);
                if (side == headSide && !start.TrainedClassifier) ConvergedHead.Install(model, start.Architecture, solved);
                using var sideData = side == headSide ? null : LabelledData.Read(source, validationSource, side, options.ValidationFraction, options.Seed);
                var trainData = sideData ?? data;
                if (sideData != null && !start.TrainedClassifier) SolveHeadAt(model, sideData, side, head.L2);
                using var trainSet = trainData.TrainSet();
                using var validationSet = trainData.ValidationSet();
                var plan = StrategyPlan.For(start.Architecture, strategy);
                if (prepareOnly)
                {
                    model.to(CPU).eval();
                    Log($"prepared {plan.Describe()} at {side} px from the solved classifier; nothing trained here");
                    return new RecipeResult(model, start.Architecture, start.Preprocessing.At(side), strategy, head, auto,
                        new TrainingResult([], 0, false, false, plan.Describe()), start.Description)
                    {
                        Flip = FlipDecision.NotMeasured("nothing trained here"),
                    };
                }
                Log($"training {plan.Describe()} at {side} px for up to {options.Epochs} epochs from the {(start.TrainedClassifier ? "saved" : "solved")} classifier");
                var result = FineTuner.Fit(model, plan, start.Preprocessing.At(side), trainSet, validationSet, WithoutSplit(options), context);

                // 4. under Auto, the head stays when the deeper model validates worse
                double? deeper = result.BestEpoch > 0 ? result.History[result.BestEpoch - 1].ValidationAccuracy : null;
                if (auto != null && !result.Cancelled && deeper is { } d && head.ValidationAccuracy is { } h && d < h)
                {
                    Log($"the {strategy} model validates at {d:P1}, under the classifier alone ({h:P1}): keeping the classifier");
                    model.Dispose();
                    random.manual_seed(options.Seed);
                    if (wide == null) model = start.CreateModel(_classes);
                    else wideModel = start.CreateModel(_classes, wide);
                    return ClassifierAlone(auto with { KeptHeadInstead = (d, h) });
                }
                var flip = FlipAfter(result, options, model, start.Preprocessing.At(side), validationSet, context);
                model.to(CPU);
                return new RecipeResult(model, start.Architecture, start.Preprocessing.At(side), strategy, head, auto, result, start.Description) { Flip = flip };
            }
            catch
            {
                model?.Dispose();
                wideModel?.Dispose();
                throw;
            }
        }

        AutoDecision Decide(nn.Module<Tensor, Tensor> model, LabelledData data, Tensor? heldLabels, HeadChoice head, int headSide)
        {
            var counts = (heldLabels ?? data.All.Labels).cpu().bincount(null, _classes).data<long>().ToArray();
            double chance = (double)counts.Max() / Math.Max(counts.Sum(), 1);
            var sides = options.ImageSize is { } fixedSide ? [fixedSide]
                : AutoStrategy.CandidateSides(start.Preprocessing.InputSize, start.Architecture.MinimumInputSize, source.SourceSide);
            var cost = new EpochCost(model, data.All, start.Preprocessing, side => BatchAt(side, data), data.TrainRows.Length, data.ValidationCount,
                _device, _channelsLast, options.Augment ?? true, options.Seed);
            var inputs = new AutoStrategy.Inputs((double)(data.TrainRows.Length + data.ValidationCount) / _classes, head.ValidationAccuracy,
                chance, _device.type == DeviceType.CUDA, options.Epochs, options.TimeBudget.TotalSeconds, sides, headSide);
            return AutoStrategy.Decide(inputs, prepareOnly ? null
                : context.EpochSeconds ?? ((strategy, side) => cost.SecondsPerEpoch(StrategyPlan.For(start.Architecture, strategy), side)));
        }

        /// <summary>The batch a run at <paramref name="side"/> takes: the one given, or the device's default for this
        /// training set at that side (on a GPU a smaller side leaves room for a larger batch).</summary>
        int BatchAt(int side, LabelledData data) =>
            options.BatchSize ?? DefaultBatchSize.For(_device.type, data.TrainRows.Length, start.Architecture, side);

        /// <summary>Solves the classifier on the features at another side (same penalty) and installs it.</summary>
        void SolveHeadAt(nn.Module<Tensor, Tensor> model, LabelledData data, int side, double penalty)
        {
            using var features = ConvergedHead.Features(model, start.Architecture, start.Preprocessing.At(side), data.All, options.Batch, _device, _channelsLast);
            using var labels = data.All.Labels.to(_device);
            using var trainFeatures = data.TrainPart(features);
            using var trainLabels = data.TrainPart(labels);
            using var classWeights = ClassWeightsOf(trainLabels);
            using var solved = LinearHead.Fit(trainFeatures, trainLabels, _classes, penalty, classWeights);
            ConvergedHead.Install(model, start.Architecture, solved);
        }

        /// <summary>The classifier refitted on every labelled image (train and validation) with the chosen penalty;
        /// its history is one epoch: the solve, with the validation numbers of the fit that did not see them
        /// (<paramref name="splitHead"/>, which also decides the test-time flip).</summary>
        RecipeResult HeadOnly(nn.Module<Tensor, Tensor> model, LabelledData data, Tensor features, Tensor labels, Tensor? validationFeatures,
            Tensor? validationLabels, HeadChoice head, LinearHead splitHead, AutoDecision? auto, Architecture architecture)
        {
            var clock = Stopwatch.StartNew();
            ConvergedHead.Install(model, architecture, splitHead);
            FlipDecision flip;
            using (var validation = data.ValidationSet())
            using (var heldFeatures = validationFeatures?.alias() ?? (data.HasValidation ? data.ValidationPart(features) : null))
            using (var heldLogits = heldFeatures is null ? null : splitHead.Logits(heldFeatures))
            {
                // the images as given are scored from their cached features; only their mirror images run the network
                // (on the CPU in ONNX Runtime, as the features did, the classifier then scoring them)
                var preprocessing = start.Preprocessing.At(head.ImageSize);
                Func<Tensor>? mirroredLogits = validation == null || !OnnxFeaturePass.Applies(_device) ? null : () =>
                {
                    using var mirrored = OnnxFeaturePass.Compute(model, architecture, preprocessing, validation, Math.Max(BatchAt(head.ImageSize, data), 64),
                        mirrored: true);
                    return splitHead.Logits(mirrored);
                };
                flip = TestTimeFlip.Decide(options.TestTimeFlip, model, preprocessing, validation, BatchAt(head.ImageSize, data), _device, heldLogits, mirroredLogits);
            }
            Log($"test-time flip {flip.Reason}");
            using var allFeatures = validationFeatures is null ? features.alias() : cat([features, validationFeatures], 0);
            using var allLabels = validationLabels is null ? labels.alias() : cat([labels, validationLabels], 0);
            using var classWeights = ClassWeightsOf(allLabels);
            using var solved = LinearHead.Fit(allFeatures, allLabels, _classes, head.L2, classWeights);
            ConvergedHead.Install(model, architecture, solved);
            var (trainLoss, trainAccuracy) = solved.Score(allFeatures, allLabels);
            double seconds = head.Seconds + clock.Elapsed.TotalSeconds;
            var summary = new EpochSummary(1, trainLoss, trainAccuracy, head.ValidationLoss, head.ValidationAccuracy, 0, seconds, allLabels.shape[0] / seconds);
            context.Progress?.Report(new TrainingProgress(1, 1, null, 1, trainLoss, trainAccuracy, 0, summary.ImagesPerSecond, head.ValidationLoss, head.ValidationAccuracy));
            Log($"classifier refitted on all {allLabels.shape[0]} labelled images: train {trainAccuracy:P1}");
            model.to(CPU).eval();
            var plan = StrategyPlan.For(architecture, FineTuneStrategy.HeadOnly);
            var training = new TrainingResult([summary], 1, false, false, $"{plan.Describe()}; {head.Describe()}");
            return new RecipeResult(model, architecture, start.Preprocessing.At(head.ImageSize), FineTuneStrategy.HeadOnly, head, auto, training, start.Description)
            {
                Flip = flip,
            };
        }

        RecipeResult Cancelled(nn.Module<Tensor, Tensor> model, int side, FineTuneStrategy strategy, HeadChoice? head, AutoDecision? auto)
        {
            model.to(CPU).eval();
            var plan = StrategyPlan.For(start.Architecture, strategy == FineTuneStrategy.Auto ? FineTuneStrategy.HeadOnly : strategy);
            return new RecipeResult(model, start.Architecture, start.Preprocessing.At(side), plan.Strategy, head, auto,
                new TrainingResult([], 0, false, true, plan.Describe()), start.Description)
            {
                Flip = FlipDecision.NotMeasured("the run was cancelled before training"),
            };
        }

        Tensor? ClassWeightsOf(Tensor labels) =>
            options.BalanceClasses ? tensor(ClassWeights.Balanced(labels.cpu().bincount(null, _classes).data<long>().ToArray()), device: _device) : null;
    }
}

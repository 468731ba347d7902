using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>One run of <see cref="TransferRecipe"/> from the start, stage by stage (<see cref="Run"/>). It holds the
/// networks until a result takes one, and disposes them when a stage fails.</summary>
internal sealed class RecipeRun(FineTuneOptions options, StartingPoint start, IImageSource source, IImageSource? validationSource,
    TrainingContext context, bool prepareOnly)
{
    readonly Device _device = context.TrainingDevice;
    readonly bool _channelsLast = ChannelsLast.Applies(options.ChannelsLast, context.TrainingDevice);
    readonly int _classes = source.ClassNames.Count;

    /// <summary>The clock the time budget counts on, from the run's first read; and how long that read took.</summary>
    readonly TimeProvider _time = context.Time ?? TimeProvider.System;
    long _started;
    double _readSeconds;

    /// <summary>The classifier alone may read more of the frozen network than the classifier deeper strategies train.</summary>
    readonly Architecture? _wide = start.TrainedClassifier || start.Architecture.ClassifierAlone is not { } wideName ? null : ArchitectureRegistry.Get(wideName);

    /// <summary>The network deeper strategies train, and the wide one whose classifier alone may be the model.</summary>
    nn.Module<Tensor, Tensor>? _model, _wideModel;

    void Log(string message) => context.Log?.Invoke(message);

    /// <summary>What the data checks found, and the training rows left out for it.</summary>
    DataHealth _health = DataHealth.NotChecked;
    IReadOnlySet<long> _excluded = new HashSet<long>();

    /// <summary>Solve the head → check the data (and leave out what it flags, when asked) → choose → train deeper or
    /// keep the head.</summary>
    public RecipeResult Run()
    {
        RefuseExclusionItCannotMake();
        int headSide = options.ImageSize ?? start.Preprocessing.InputSize;
        _started = _time.GetTimestamp();
        var data = LabelledData.Read(source, validationSource, headSide, options.ValidationFraction, options.Seed);
        _readSeconds = _time.GetElapsedTime(_started).TotalSeconds;
        SolvedHead? head = null;
        try
        {
            if (!options.BalanceClasses && ClassWeights.ImbalanceNote(data.All.ClassCounts, source.ClassNames) is { } imbalance) Log(imbalance);
            CreateNetworks();
            head = SolveHead(data, headSide);
            if (head == null) return Cancelled(headSide, options.Strategy, null, null);
            _health = CheckData(data, head);
            if (_excluded.Count > 0) (data, head) = Excluding(data, head);
            var (strategy, side, auto) = Choose(data, head);
            if (context.Cancellation.IsCancellationRequested) return Cancelled(headSide, strategy, head.Choice, auto);
            return strategy == FineTuneStrategy.HeadOnly ? KeepHead(data, head, auto) : TrainDeeper(data, head, strategy, side, auto);
        }
        catch
        {
            _model?.Dispose();
            _wideModel?.Dispose();
            throw;
        }
        finally
        {
            head?.Dispose();
            data.Dispose();
        }
    }

    /// <summary>Before any work: ExcludeFlagged where the run cannot leave images out.</summary>
    void RefuseExclusionItCannotMake()
    {
        if (!options.ExcludeFlagged) return;
        if (!start.Pretrained)
            throw new ArgumentException("ExcludeFlagged leaves out what the data checks flag, and they need pretrained weights", nameof(FineTuneOptions.ExcludeFlagged));
        if (prepareOnly)
            throw new ArgumentException("a job exported for torchrun trains on the rows it lists: run `check`, remove the flagged images, then export",
                nameof(FineTuneOptions.ExcludeFlagged));
    }

    void CreateNetworks()
    {
        random.manual_seed(options.Seed); // the new classifier's initial weights come from torch's generator
        _wideModel = _wide == null ? null : start.CreateModel(_classes, _wide);
        if (_wide != null) random.manual_seed(options.Seed); // the network deeper strategies train draws as without it
        _model = start.CreateModel(_classes);
    }

    /// <summary>1. The classifier, solved on the frozen features at the weights' own side; null when cancelled.</summary>
    SolvedHead? SolveHead(LabelledData data, int headSide)
    {
        var clock = Stopwatch.StartNew();
        Tensor computed = null!;
        Tensor? computedValidation;
        try
        {
            computed = FrozenFeatures(data.All, headSide, BatchAt(headSide, data), context.Cancellation);
            computedValidation = data.SeparateValidation == null ? null
                : FrozenFeatures(data.SeparateValidation, headSide, BatchAt(headSide, data), context.Cancellation);
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            computed?.Dispose();
            return null;
        }
        return Solved(data, headSide, computed, computedValidation, clock);
    }

    /// <summary>The features the classifier alone reads (the wide network's where there is one), network frozen.</summary>
    Tensor FrozenFeatures(ImageTensorDataset images, int side, int batch, CancellationToken cancellation = default) =>
        ConvergedHead.Features(_wideModel ?? _model!, _wide ?? start.Architecture, start.Preprocessing.At(side), images, batch, _device,
            _channelsLast, cancellation, new PhaseProgress($"features at {side} px", Log, _time));

    /// <summary>The classifier solved and its penalty chosen on features already computed (which it takes over).</summary>
    SolvedHead Solved(LabelledData data, int headSide, Tensor computed, Tensor? computedValidation, Stopwatch clock)
    {
        // the classifier deeper strategies start from reads the last columns (MultiLevelResNet puts the last stage
        // last): the same features, bit for bit, as the network computes them alone
        long width = ConvergedHead.InputWidth(_model!, start.Architecture);
        var features = computed.narrow(1, computed.shape[1] - width, width).contiguous();
        var validationFeatures = computedValidation?.narrow(1, computedValidation.shape[1] - width, width).contiguous();
        var labels = data.All.Labels.to(_device);
        var validationLabels = data.SeparateValidation?.Labels.to(_device);
        var trainFeatures = data.TrainPart(features);
        var trainLabels = data.TrainPart(labels);
        var heldFeatures = validationFeatures?.alias() ?? (data.HasValidation ? data.ValidationPart(features) : null);
        var heldLabels = validationLabels?.alias() ?? (data.HasValidation ? data.ValidationPart(labels) : null);
        var classWeights = ClassWeightsOf(trainLabels);
        var (solved, choice) = ConvergedHead.Choose(trainFeatures, trainLabels, heldFeatures, heldLabels, _classes, headSide,
            options.HeadWeightDecay, classWeights);
        choice = choice with { Seconds = clock.Elapsed.TotalSeconds };
        Log($"classifier: {choice.Describe()} ({choice.Seconds:0.0} s with the features)");
        return new SolvedHead
        {
            Side = headSide, Computed = computed, ComputedValidation = computedValidation, Features = features, ValidationFeatures = validationFeatures,
            Labels = labels, ValidationLabels = validationLabels, TrainLabels = trainLabels, HeldLabels = heldLabels, ClassWeights = classWeights,
            Split = solved, Choice = choice, Held = [trainFeatures, heldFeatures],
        };
    }

    /// <summary>1'. The data checks on the features just computed: likely label errors (out of fold, with the penalty
    /// just chosen), duplicates and outliers among the training images, and the test images (when the context names
    /// them) with a copy among them. Rows are positions in <see cref="LabelledData.All"/>.</summary>
    DataHealth CheckData(LabelledData data, SolvedHead head)
    {
        if (!options.CheckData) return DataHealth.NotChecked;
        if (!start.Pretrained)
        {
            // a random network's features say nothing of what an image shows: no finding would mean anything
            Log("data checks skipped: they read what a pretrained network sees, and this run starts from random weights");
            return DataHealth.NotChecked;
        }
        var clock = Stopwatch.StartNew();
        using var prints = PerceptualPrint.Of(data.All);
        using var neighbours = DataExamination.Neighbours(head.Computed);
        var issues = DataExamination.Training(head.Computed, data.All.Labels, prints, _classes, head.Choice.L2, options.Seed, neighbours);
        int testImages = 0;
        if (context.TestImages is { } testSource && ReadForChecks(testSource, head.Side) is { } read)
        {
            using var test = read;
            testImages = (int)test.Count;
            using var testPrints = PerceptualPrint.Of(test);
            issues.AddRange(NearCopies.BetweenByPrint(testPrints, test.Labels, head.Computed, prints, rows =>
            {
                using var candidates = test.Subset(rows);
                return FrozenFeatures(candidates, head.Side, BatchAt(head.Side, data));
            }));
        }
        var found = new DataHealth(issues, (int)data.All.Count, testImages, 0, 0);
        _excluded = options.ExcludeFlagged ? found.Excludable() : new HashSet<long>();
        var health = found with { Excluded = _excluded.Count, Seconds = clock.Elapsed.TotalSeconds };
        Log($"data checks: {health.Describe()}");
        return health;
    }

    /// <summary>The test images at <paramref name="side"/> for the leak check, or null (said in the log) when none of
    /// them can be used: the checks never stop a run; the test's own evaluation reports its images.</summary>
    ImageTensorDataset? ReadForChecks(IImageSource test, int side)
    {
        try
        {
            return test.Read(side);
        }
        catch (InvalidOperationException e)
        {
            Log($"data checks: test images not searched for copies ({e.Message})");
            return null;
        }
    }

    /// <summary>1''. The data less the flagged rows, and the classifier solved again on their features (no pass over
    /// the network: the rows kept of those already computed).</summary>
    (LabelledData Data, SolvedHead Head) Excluding(LabelledData data, SolvedHead head)
    {
        var clock = Stopwatch.StartNew();
        var reduced = data.Without(_excluded, options.ValidationFraction, options.Seed);
        try
        {
            using var kept = tensor(reduced.KeptRows!, device: head.Computed.device);
            var solved = Solved(reduced, head.Side, head.Computed.index_select(0, kept), head.ComputedValidation?.clone(), clock);
            head.Dispose();
            return (reduced, solved);
        }
        catch
        {
            reduced.Dispose(); // and the data it took over, which the caller disposes again: disposing twice is harmless
            throw;
        }
    }

    /// <summary>2. The strategy and side: the named ones, or Auto's measured choice within the time budget (which may
    /// cut the epochs to fit).</summary>
    (FineTuneStrategy Strategy, int Side, AutoDecision? Auto) Choose(LabelledData data, SolvedHead head)
    {
        if (options.Strategy != FineTuneStrategy.Auto) return (options.Strategy, options.ImageSize ?? start.Preprocessing.InputSize, null);
        var auto = Decide(data, head.HeldLabels, head.Choice, head.Side);
        Log($"strategy {auto.Strategy}: {auto.Reason}");
        if (auto.Epochs != options.Epochs && auto.Strategy != FineTuneStrategy.HeadOnly)
        {
            options = options.Clone(); // cut to fit the budget
            options.Epochs = auto.Epochs;
        }
        return (auto.Strategy, auto.ImageSize, auto);
    }

    /// <summary>3. The classifier alone (the wide one where the architecture has one), refitted on every labelled image.</summary>
    RecipeResult KeepHead(LabelledData data, SolvedHead head, AutoDecision? auto)
    {
        if (_wide == null || _wideModel == null)
            return HeadOnly(data, head.Features, head.Labels, head.ValidationFeatures, head.ValidationLabels, head.Choice, head.Split, auto, start.Architecture);
        _model?.Dispose();
        (_model, _wideModel) = (_wideModel, null);
        using var wideTrain = data.TrainPart(head.Computed);
        using var wideHeld = head.ComputedValidation?.alias() ?? (data.HasValidation ? data.ValidationPart(head.Computed) : null);
        var clock = Stopwatch.StartNew();
        var (wideSolved, wideHead) = ConvergedHead.Choose(wideTrain, head.TrainLabels, wideHeld, head.HeldLabels, _classes, head.Side,
            options.HeadWeightDecay, head.ClassWeights);
        using var _ = wideSolved;
        wideHead = wideHead with { Seconds = head.Choice.Seconds + clock.Elapsed.TotalSeconds };
        Log($"classifier alone on {_wide.Name}'s {head.Computed.shape[1]} features: {wideHead.Describe()}");
        return HeadOnly(data, head.Computed, head.Labels, head.ComputedValidation, head.ValidationLabels, wideHead, wideSolved, auto, _wide);
    }

    /// <summary>3'. Deeper: the head solved at the training side (a continued model keeps its trained one), the
    /// strategy's groups unfrozen and trained from it, in batches of the size given or the device's default at that
    /// side; 4. under Auto, the head stays when the deeper model validates worse; then the test-time flip.</summary>
    RecipeResult TrainDeeper(LabelledData data, SolvedHead head, FineTuneStrategy strategy, int side, AutoDecision? auto)
    {
        _wideModel?.Dispose(); // made again if the classifier alone is kept after all
        _wideModel = null;
        var model = _model!;
        options = options.WithBatchSizeFor(_device, data.TrainRows.Length, start.Architecture, side, Log);
        if (side == head.Side && !start.TrainedClassifier) ConvergedHead.Install(model, start.Architecture, head.Split);
        using var sideData = side == head.Side ? null : LabelledData.Read(source, validationSource, side, options.ValidationFraction, options.Seed, _excluded);
        var trainData = sideData ?? data;
        if (sideData != null && !start.TrainedClassifier) SolveHeadAt(model, sideData, side, head.Choice.L2);
        using var trainSet = trainData.TrainSet();
        using var validationSet = trainData.ValidationSet();
        var plan = StrategyPlan.For(start.Architecture, strategy);
        if (prepareOnly)
        {
            model.to(CPU).eval();
            Log($"prepared {plan.Describe()} at {side} px from the solved classifier; nothing trained here");
            return Result(start.Architecture, side, strategy, head.Choice, auto, FlipDecision.NotMeasured("nothing trained here"),
                new TrainingResult([], 0, false, false, plan.Describe()));
        }
        Log($"training {plan.Describe()} at {side} px for up to {options.Epochs} epochs from the {(start.TrainedClassifier ? "saved" : "solved")} classifier");
        var result = FineTuner.Train(model, plan, start.Preprocessing.At(side), trainSet, validationSet, TransferRecipe.WithoutSplit(options), context,
            _excluded.Order().ToArray());

        double? deeper = result.BestEpoch > 0 ? result.History[result.BestEpoch - 1].ValidationAccuracy : null;
        if (auto != null && !result.Cancelled && deeper is { } d && head.Choice.ValidationAccuracy is { } h && d < h)
        {
            Log($"the {strategy} model validates at {d:P1}, under the classifier alone ({h:P1}): keeping the classifier");
            model.Dispose();
            _model = null;
            random.manual_seed(options.Seed);
            if (_wide == null) _model = start.CreateModel(_classes);
            else _wideModel = start.CreateModel(_classes, _wide);
            return KeepHead(data, head, auto with { KeptHeadInstead = (d, h) });
        }
        var (flip, calibration) = TransferRecipe.FlipAfter(result, options, model, start.Preprocessing.At(side), validationSet, context);
        var familiarity = TransferRecipe.Familiar(options, result.Cancelled, model, start.Architecture, start.Preprocessing.At(side), trainSet, validationSet, context);
        model.to(CPU);
        return Result(start.Architecture, side, strategy, head.Choice, auto, flip, result, calibration, familiarity);
    }

    AutoDecision Decide(LabelledData data, Tensor? heldLabels, HeadChoice head, int headSide)
    {
        var counts = (heldLabels ?? data.All.Labels).cpu().bincount(null, _classes).data<long>().ToArray();
        double chance = (double)counts.Max() / Math.Max(counts.Sum(), 1);
        var sides = options.ImageSize is { } fixedSide ? [fixedSide]
            : AutoStrategy.CandidateSides(start.Preprocessing.InputSize, start.Architecture.MinimumInputSize, source.SourceSide);
        var cost = new EpochCost(_model!, data.All, start.Preprocessing, side => BatchAt(side, data), data.TrainRows.Length, data.ValidationCount,
            _device, _channelsLast, options.Augment ?? true, options.Seed, headSide, _readSeconds,
            options.FlagUnfamiliar ? Math.Min(data.TrainRows.Length, Familiarity.MaxRows) + Math.Min(data.ValidationCount, Familiarity.MaxRows) : 0);
        var inputs = new AutoStrategy.Inputs((double)(data.TrainRows.Length + data.ValidationCount) / _classes, head.ValidationAccuracy,
            chance, _device.type == DeviceType.CUDA, options.Epochs, options.TimeBudget.TotalSeconds, sides, headSide);
        return AutoStrategy.Decide(inputs, prepareOnly ? null
            : context.CandidateCost ?? ((strategy, side) => cost.Of(StrategyPlan.For(start.Architecture, strategy), side)),
            () => _time.GetElapsedTime(_started).TotalSeconds);
    }

    /// <summary>The batch a run at <paramref name="side"/> takes: the one given, or the device's default for this
    /// training set at that side (on a GPU a smaller side leaves room for a larger batch).</summary>
    int BatchAt(int side, LabelledData data) =>
        options.BatchSize ?? DefaultBatchSize.For(_device.type, data.TrainRows.Length, start.Architecture, side);

    /// <summary>Solves the classifier on the features at another side (same penalty) and installs it.</summary>
    void SolveHeadAt(nn.Module<Tensor, Tensor> model, LabelledData data, int side, double penalty)
    {
        using var features = ConvergedHead.Features(model, start.Architecture, start.Preprocessing.At(side), data.All, options.Batch, _device, _channelsLast,
            progress: new PhaseProgress($"features at {side} px", Log, _time));
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
    RecipeResult HeadOnly(LabelledData data, Tensor features, Tensor labels, Tensor? validationFeatures,
        Tensor? validationLabels, HeadChoice head, LinearHead splitHead, AutoDecision? auto, Architecture architecture)
    {
        var model = _model!;
        var clock = Stopwatch.StartNew();
        ConvergedHead.Install(model, architecture, splitHead);
        FlipDecision flip;
        Calibration calibration;
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
            flip = TestTimeFlip.Decide(options.TestTimeFlip, model, preprocessing, validation, BatchAt(head.ImageSize, data), _device, heldLogits, mirroredLogits,
                scoreServed: options.CalibrateScores, out var served);
            Log($"test-time flip {flip.Reason}");
            // fitted on the classifier that did not see the validation images; the refit below serves with it
            calibration = TransferRecipe.Calibrated(options, served, validation, context);
        }
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
        Familiarity? familiarity;
        using (var trainSet = data.TrainSet())
        using (var validationSet = data.ValidationSet())
            familiarity = TransferRecipe.Familiar(options, cancelled: false, model, architecture, start.Preprocessing.At(head.ImageSize), trainSet, validationSet, context);
        var plan = StrategyPlan.For(architecture, FineTuneStrategy.HeadOnly);
        var training = new TrainingResult([summary], 1, false, false, $"{plan.Describe()}; {head.Describe()}");
        return Result(architecture, head.ImageSize, FineTuneStrategy.HeadOnly, head, auto, flip, training, calibration, familiarity);
    }

    RecipeResult Cancelled(int side, FineTuneStrategy strategy, HeadChoice? head, AutoDecision? auto)
    {
        _wideModel?.Dispose();
        _wideModel = null;
        _model!.to(CPU).eval();
        var plan = StrategyPlan.For(start.Architecture, strategy == FineTuneStrategy.Auto ? FineTuneStrategy.HeadOnly : strategy);
        return Result(start.Architecture, side, plan.Strategy, head, auto, FlipDecision.NotMeasured("the run was cancelled before training"),
            new TrainingResult([], 0, false, true, plan.Describe()));
    }

    /// <summary>The result, which takes the network (the run holds none after it), with the run's record.</summary>
    RecipeResult Result(Architecture architecture, int side, FineTuneStrategy strategy, HeadChoice? head, AutoDecision? auto, FlipDecision flip,
        TrainingResult training, Calibration? calibration = null, Familiarity? familiarity = null)
    {
        var model = _model!;
        _model = null;
        var record = new RunRecord(architecture.Name, start.Description, strategy, auto?.Outcome ?? RunRecord.NamedReason(resumed: false), side,
            context.DeviceName, options.BalanceClasses, head, auto, flip, calibration ?? Calibration.None, training) { Familiarity = familiarity };
        return new RecipeResult(model, architecture, start.Preprocessing.At(side), record) { Health = _health };
    }

    Tensor? ClassWeightsOf(Tensor labels) =>
        options.BalanceClasses ? tensor(ClassWeights.Balanced(labels.cpu().bincount(null, _classes).data<long>().ToArray()), device: _device) : null;
}

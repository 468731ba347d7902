using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// The engine's one entry point for a fine-tuning run, called by the ML.NET estimator, the CLI and the benchmarks
/// alike. The recipe, as fastai's <c>fine_tune</c> reads (<see cref="RecipeRun.Run"/>: solve the head → choose → train
/// deeper or keep the head → flip):
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
    /// <summary>Validates the options (the engine's public door), then runs the recipe. Runs in one process take turns
    /// (<see cref="SeededRunGate"/>): a second waits for the first, so that each seed fixes its model.</summary>
    public static RecipeResult Run(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation,
        TrainingContext? context = null)
    {
        options.Validate();
        context = Checked(train, validation, context);
        using var turn = SeededRunGate.Enter(context.Log, context.Cancellation);
        using var allocator = AllocatorTuning.Begin();
        using var held = HeldTensors.Begin();
        return context.Resume == null ? new RecipeRun(options, start, train, validation, context, prepareOnly: false).Run() : Resume(options, start, train, validation, context);
    }

    /// <summary>The recipe up to the first training step, for a job that trains elsewhere (<c>job export</c>): the
    /// classifier solved on the frozen features and installed at the training side, the strategy resolved (Auto by the
    /// data alone, untimed: the job runs on other machines), and nothing trained. The result's history is empty.</summary>
    public static RecipeResult Prepare(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation,
        TrainingContext? context = null)
    {
        options.Validate();
        context = Checked(train, validation, context);
        using var turn = SeededRunGate.Enter(context.Log, context.Cancellation);
        using var allocator = AllocatorTuning.Begin();
        using var held = HeldTensors.Begin();
        return new RecipeRun(options, start, train, validation, context, prepareOnly: true).Run();
    }

    /// <summary>The two sources' classes compared, before any work.</summary>
    static TrainingContext Checked(IImageSource train, IImageSource? validation, TrainingContext? context)
    {
        if (validation != null && !validation.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("the validation images' class names differ from the training images'", nameof(validation));
        return context ?? new TrainingContext();
    }

    /// <summary>Continues an interrupted run: the strategy and side it resolved, the weights it had (the checkpoint's
    /// own when it carries them, else the starting point: the partial model saved with it), and the loop's state.</summary>
    static RecipeResult Resume(FineTuneOptions options, StartingPoint start, IImageSource train, IImageSource? validation, TrainingContext context)
    {
        var resume = context.Resume!;
        var preprocessing = start.Preprocessing.At(resume.ImageSize);
        using var data = LabelledData.Read(train, validation, resume.ImageSize, options.ValidationFraction, options.Seed, resume.ExcludedRows);
        if (resume.ExcludedRows.Count > 0) context.Log?.Invoke($"{resume.ExcludedRows.Count} flagged training image(s) left out, as the interrupted run left them");
        using var trainSet = data.TrainSet();
        using var validationSet = data.ValidationSet();
        random.manual_seed(options.Seed);
        var model = start.CreateModel(train.ClassNames.Count);
        try
        {
            if (resume.Weights.Count > 0)
            {
                // a checkpoint taken while training went on carries the whole network: it replaces the starting weights
                if (resume.Architecture is { } architecture && architecture != start.Architecture.Name)
                    throw new ArgumentException($"the checkpoint was taken training {architecture}, not {start.Architecture.Name}: resume with the architecture it trained", "ResumeFrom");
                WeightLoader.Load(model, start.Architecture, resume.Weights, "the checkpoint");
            }
            var plan = StrategyPlan.For(start.Architecture, resume.Strategy);
            var result = FineTuner.Train(model, plan, preprocessing, trainSet, validationSet, WithoutSplit(options), context, resume.ExcludedRows);
            var (flip, calibration) = FlipAfter(result, options, model, preprocessing, validationSet, context);
            var familiarity = Familiar(options, result.Cancelled, model, start.Architecture, preprocessing, trainSet, validationSet, context);
            model.to(CPU);
            var record = new RunRecord(start.Architecture.Name, start.Description, resume.Strategy, RunRecord.NamedReason(resumed: true),
                resume.ImageSize, context.DeviceName, options.BalanceClasses, null, null, flip, calibration, result) { Familiarity = familiarity };
            return new RecipeResult(model, start.Architecture, preprocessing, record);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The test-time flip for a trained network, decided on the validation images unless the run was
    /// cancelled, and the calibration of the scores it will then serve.</summary>
    internal static (FlipDecision Flip, Calibration Calibration) FlipAfter(TrainingResult result, FineTuneOptions options, nn.Module<Tensor, Tensor> model,
        Weights.Preprocessing preprocessing, Training.ImageTensorDataset? validation, TrainingContext context)
    {
        if (result.Cancelled) return (FlipDecision.NotMeasured("training was cancelled before it ended"), Calibration.None);
        var flip = TestTimeFlip.Decide(options.TestTimeFlip, model, preprocessing, validation, result.BatchSize ?? FineTuneOptions.Defaults.BatchSize,
            context.TrainingDevice, null, null, scoreServed: options.CalibrateScores, out var served);
        context.Log?.Invoke($"test-time flip {flip.Reason}");
        return (flip, Calibrated(options, served, validation, context));
    }

    /// <summary>What the saved model compares each image with to call it unfamiliar (<see cref="Familiarity"/>): the
    /// trained network's mid-level features and classifier inputs for a sample of <paramref name="train"/> and of
    /// <paramref name="validation"/>, by ONNX Runtime on the CPU (not cancellable: the training it follows has ended);
    /// null when the options turn it off or training was cancelled.</summary>
    internal static Familiarity? Familiar(FineTuneOptions options, bool cancelled, nn.Module<Tensor, Tensor> model, Architecture architecture,
        Weights.Preprocessing preprocessing, Training.ImageTensorDataset train, Training.ImageTensorDataset? validation, TrainingContext context)
    {
        if (!options.FlagUnfamiliar || cancelled) return null;
        var clock = Stopwatch.StartNew();
        model.to(CPU).eval();
        string[] taps = architecture.FamiliarTap is { } mid ? [mid, architecture.ClassifierPrefix] : [architecture.ClassifierPrefix];
        long width = taps.Sum(tap => TapWidth(model, architecture, tap));
        Tensor[] Features(Training.ImageTensorDataset data)
        {
            using var sample = data.Subset(Familiarity.Sample(data.Count, width, options.Seed));
            return OnnxFeaturePass.Compute(model, architecture, preprocessing, sample, 64, taps);
        }
        var reference = Features(train);
        var held = validation is { Count: > 0 } ? Features(validation) : null;
        try
        {
            var familiarity = Familiarity.Fit([.. taps.Select((tap, i) => (tap, reference[i], held?[i]))]);
            context.Log?.Invoke(familiarity is null
                ? "unfamiliar images: not flagged (too few training images, or their distances do not spread)"
                : $"unfamiliar images ({clock.Elapsed.TotalSeconds:0.0} s): {familiarity.Describe()}");
            return familiarity;
        }
        finally
        {
            foreach (var t in reference.Concat(held ?? [])) t.Dispose();
        }
    }

    /// <summary>How many features the input of the module <paramref name="tap"/> has once averaged over the image: the
    /// classifier's input width, or the input channels of the first convolution at or under the tap.</summary>
    internal static long TapWidth(nn.Module<Tensor, Tensor> model, Architecture architecture, string tap)
    {
        if (tap == architecture.ClassifierPrefix) return ConvergedHead.InputWidth(model, architecture);
        return model.state_dict().FirstOrDefault(p => (p.Key.StartsWith(tap + ".", StringComparison.Ordinal)) && p.Value.dim() == 4).Value?.shape[1]
               ?? throw new InvalidOperationException($"{architecture.Name}: no convolution at or under {tap}");
    }

    /// <summary>The temperature fitted on the validation images' served probabilities (which it disposes), when the
    /// options ask for it.</summary>
    internal static Calibration Calibrated(FineTuneOptions options, Tensor? served, Training.ImageTensorDataset? validation, TrainingContext context)
    {
        using var _ = served;
        if (!options.CalibrateScores || served is null || validation is null) return Calibration.None;
        var calibration = TemperatureScaling.Fit(served, validation.Labels);
        context.Log?.Invoke(calibration.Applied ? $"scores calibrated: {calibration.Describe()}" : $"scores {calibration.Describe()}");
        return calibration;
    }

    /// <summary>The loop's options once the recipe has split the data itself.</summary>
    internal static FineTuneOptions WithoutSplit(FineTuneOptions options)
    {
        var copy = options.Clone();
        copy.ValidationFraction = 0;
        return copy;
    }
}

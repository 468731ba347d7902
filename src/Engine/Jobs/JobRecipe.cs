using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Jobs;

/// <summary>
/// <c>recipe.json</c> of a job folder: everything <c>train_ddp.py</c> needs to run the fine-tuning step of the recipe
/// that <c>train</c> runs, spelled out so the script holds no knowledge of its own — the architecture, the classes in
/// label order, each layer group's parameters with whether it trains and its rate scale, the BatchNorm layers kept in
/// eval mode, the optimizer, the schedule's constants, augmentation, label smoothing, early stopping, the seed, and the
/// preprocessing (channel order, pixel scale, mean, std, mean image).
/// </summary>
public sealed record JobRecipe
{
    /// <summary>Raised when the layout of the folder changes; import refuses other formats.</summary>
    public const int CurrentFormat = 1;
    public const string FileName = "recipe.json";

    public int Format { get; init; } = CurrentFormat;
    public required string Architecture { get; init; }

    /// <summary>How PyTorch builds the network (the architecture row's spec); absent in jobs of earlier releases,
    /// whose scripts knew the architectures themselves.</summary>
    public NetworkSpec? Network { get; init; }
    public required IReadOnlyList<string> Classes { get; init; }
    public required string Strategy { get; init; }
    public required string StrategyReason { get; init; }
    public required IReadOnlyList<Group> Groups { get; init; }

    /// <summary>BatchNorm modules whose running statistics stay the starting weights' (eval mode while training).</summary>
    public required IReadOnlyList<string> FrozenBatchnorm { get; init; }
    public required int ImageSize { get; init; }
    public required Input Preprocessing { get; init; }
    public required int Epochs { get; init; }

    /// <summary>Images per optimizer step over all processes (each takes its share).</summary>
    public required int BatchSize { get; init; }
    public required Optimizer Optimization { get; init; }
    public required RateSchedule Schedule { get; init; }
    public required double LabelSmoothing { get; init; }
    public required bool BalanceClasses { get; init; }
    public required Augmentation Augment { get; init; }
    public required int EarlyStoppingPatience { get; init; }

    /// <summary>The test-time flip as the options gave it; null: the script measures it on the validation images
    /// after training (history.json) and import decides by the engine's rule (<see cref="Recipe.TestTimeFlip"/>).</summary>
    public bool? TestTimeFlip { get; init; }
    public required int Seed { get; init; }

    /// <summary>The classifier solved on frozen features that training starts from.</summary>
    public required string Head { get; init; }
    public string Images { get; init; } = JobFiles.Images;

    /// <summary>The folder the image paths are relative to on the machine that exported the job (the script's
    /// <c>--image-root</c> remaps it).</summary>
    public required string ImageRoot { get; init; }
    public string Weights { get; init; } = JobFiles.StartWeights;

    /// <summary>Images in the fixed batch the script scores with the trained model (import checks TorchSharp against it).</summary>
    public int CheckBatch { get; init; } = 8;

    public sealed record Group(string Name, bool Trainable, double RateScale, IReadOnlyList<string> Parameters);

    /// <summary>Pixels 0..255 RGB → (flip to BGR when asked) × scale − mean image (resized bilinearly to the side) −
    /// mean, ÷ std, per channel.</summary>
    public sealed record Input(string ChannelOrder, double PixelScale, IReadOnlyList<float> Mean, IReadOnlyList<float> Std, string? MeanImage);

    public sealed record Optimizer(string Kind, double LearningRate, double WeightDecay, double Momentum, bool Nesterov);

    /// <summary>One-cycle: cosine from rate/div to rate over the first warm-up fraction of steps, then cosine to
    /// rate/(div·final_div). Only epochs ending once the factor is at most 0.5 past the peak compete for best.</summary>
    public sealed record RateSchedule(string Kind, double WarmupFraction, double DivFactor, double FinalDivFactor);

    public sealed record Augmentation(bool Enabled, double MinScale, double MinRatio, double MaxRatio, bool Flip);

    /// <summary>Every number range-checked as the CLI checks the same option (an edited image_size of 20000 was taken
    /// and ate 6 GB), plus what only a recipe holds; throws <see cref="JobFileException"/> naming the field.</summary>
    public void Check(string path)
    {
        var options = new FineTuneOptions
        {
            Architecture = Architecture, Weights = PretrainedCatalog.Scratch, ImageSize = ImageSize, Epochs = Epochs, BatchSize = BatchSize,
            LearningRate = Optimization.LearningRate, WeightDecay = Optimization.WeightDecay, LabelSmoothing = LabelSmoothing,
            EarlyStoppingPatience = EarlyStoppingPatience,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            var detail = e.Message.Split(" (Parameter")[0].Split(Environment.NewLine)[0];
            throw new JobFileException($"{path}: {FieldOf(e.ParamName)} {detail}{(e is ArgumentOutOfRangeException { ActualValue: { } actual } ? $", not {actual}" : "")}.");
        }
        void Require(bool ok, string field, string expected, object? actual)
        {
            if (!ok) throw new JobFileException($"{path}: {field} must be {expected}, not {actual ?? "null"}.");
        }
        Require(Classes is { Count: >= 2 } && Classes.All(c => !string.IsNullOrEmpty(c)), "classes", "two or more class names", Classes?.Count);
        Require(Epochs <= 100_000, "epochs", "at most 100000", Epochs);
        Require(BatchSize <= 65_536, "batch_size", "at most 65536", BatchSize);
        Require(CheckBatch is >= 1 and <= 1024, "check_batch", "between 1 and 1024", CheckBatch);
        Require(Optimization.Momentum is >= 0 and < 1, "optimization.momentum", "in [0, 1)", Optimization.Momentum);
        Require(Optimization.Kind is "adamw" or "sgd", "optimization.kind", "adamw or sgd", Optimization.Kind);
        Require(Schedule.WarmupFraction is >= 0 and <= 1, "schedule.warmup_fraction", "in [0, 1]", Schedule.WarmupFraction);
        Require(Schedule.DivFactor is >= 1 and <= 1e6 && Schedule.FinalDivFactor is >= 1 and <= 1e9, "schedule.div_factor and final_div_factor", "between 1 and 1e6 (1e9)", $"{Schedule.DivFactor} and {Schedule.FinalDivFactor}");
        Require(Augment.MinScale is > 0 and <= 1, "augment.min_scale", "in (0, 1]", Augment.MinScale);
        Require(Augment.MinRatio > 0 && Augment.MaxRatio >= Augment.MinRatio && Augment.MaxRatio <= 100, "augment.min_ratio and max_ratio", "0 < min ≤ max ≤ 100", $"{Augment.MinRatio} and {Augment.MaxRatio}");
        Require(double.IsFinite(Preprocessing.PixelScale) && Preprocessing.PixelScale > 0, "preprocessing.pixel_scale", "a positive number", Preprocessing.PixelScale);
        Require(Preprocessing.Mean is { Count: 3 } && Preprocessing.Mean.All(float.IsFinite), "preprocessing.mean", "three finite numbers", Preprocessing.Mean?.Count);
        Require(Preprocessing.Std is { Count: 3 } && Preprocessing.Std.All(v => float.IsFinite(v) && v > 0), "preprocessing.std", "three positive numbers", Preprocessing.Std?.Count);
        Require(Groups is { Count: >= 2 }, "groups", "the architecture's layer groups", Groups?.Count);
    }

    static string FieldOf(string? option) => option switch
    {
        nameof(FineTuneOptions.ImageSize) => "image_size",
        nameof(FineTuneOptions.BatchSize) => "batch_size",
        nameof(FineTuneOptions.LearningRate) => "optimization.learning_rate",
        nameof(FineTuneOptions.WeightDecay) => "optimization.weight_decay",
        nameof(FineTuneOptions.LabelSmoothing) => "label_smoothing",
        nameof(FineTuneOptions.EarlyStoppingPatience) => "early_stopping_patience",
        nameof(FineTuneOptions.Epochs) => "epochs",
        "name" or nameof(FineTuneOptions.Architecture) => "architecture",
        _ => option ?? "a value",
    };

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The recipe for a prepared run: its plan on <paramref name="model"/>'s parameters, the preprocessing at the
    /// training side and the loop's options.</summary>
    public static JobRecipe Of(StrategyPlan plan, nn.Module<Tensor, Tensor> model, Preprocessing preprocessing, IReadOnlyList<string> classes,
        FineTuneOptions options, string strategyReason, string head, string imageRoot)
    {
        var architecture = plan.Architecture;
        var names = model.named_parameters().Select(p => p.name).ToList();
        return new JobRecipe
        {
            Architecture = architecture.Name,
            Network = architecture.Network,
            Classes = classes.ToList(),
            Strategy = plan.Strategy.ToString(),
            StrategyReason = strategyReason,
            Groups = architecture.LayerGroups.Select((g, i) => new Group(g.Name, plan.Trainable[i], plan.RateScales[i],
                names.Where(n => architecture.GroupIndexOf(n) == i).ToList())).ToList(),
            FrozenBatchnorm = plan.FrozenBatchNorms(model, all: !options.BatchNormStatisticsTrain).Select(m => m.Name).ToList(),
            ImageSize = preprocessing.InputSize,
            Preprocessing = new Input(preprocessing.ChannelOrder.ToString().ToLowerInvariant(), preprocessing.PixelScale, preprocessing.Mean,
                preprocessing.Std, preprocessing.MeanImage == null ? null : JobFiles.MeanImage),
            Epochs = options.Epochs,
            BatchSize = options.BatchSize ?? FineTuneOptions.Defaults.BatchSize, // per process: the recipe's step, whatever the job's devices
            Optimization = new Optimizer(options.Optimizer == OptimizerKind.Sgd ? "sgd" : "adamw", options.LearningRate, options.WeightDecay,
                FineTuneOptions.SgdMomentum, Nesterov: true),
            Schedule = new RateSchedule(options.Schedule.ToString().ToLowerInvariant(), LearningRateScheduleExtensions.WarmupFraction,
                LearningRateScheduleExtensions.DivFactor, LearningRateScheduleExtensions.FinalDivFactor),
            LabelSmoothing = options.LabelSmoothing,
            BalanceClasses = options.BalanceClasses,
            Augment = new Augmentation(options.Augment ?? !plan.BackboneFrozen, Augmenter.MinScale, Augmenter.MinRatio, Augmenter.MaxRatio, true),
            EarlyStoppingPatience = options.EarlyStoppingPatience,
            TestTimeFlip = options.TestTimeFlip,
            Seed = options.Seed,
            Head = head,
            ImageRoot = imageRoot,
        };
    }
}

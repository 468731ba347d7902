using System.Text.Json.Serialization;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// Everything a fine-tuning run can be told: the one options record of the engine. The ML.NET estimator's options
/// derive from it, the CLI maps its command line to it once and saves it for <c>train --resume</c>, and
/// <see cref="Validate"/> checks it once, by name. Every member has a default; the defaults are the recipe
/// (see <see cref="Recipe.TransferRecipe"/>).
/// </summary>
public class FineTuneOptions
{
    public static class Defaults
    {
        public const string Architecture = "resnet18_cntk";
        public const int Epochs = 10;
        public const int BatchSize = 32;
        public const double LearningRate = 1e-3;
        public const double WeightDecay = 1e-4;
        public const double LabelSmoothing = 0.1;
        public const double ValidationFraction = 0.2;
        public const int EarlyStoppingPatience = 3;
        public const int Seed = 1;
        /// <summary>Auto's budget for the whole run: on a 2-core CPU it gives Fashion-MNIST 2 000 all it can use (the
        /// whole network at the largest side its 28 px images allow, 5.5 minutes in all) and 10 000 images the last
        /// layers' ten epochs (about 10 minutes, 2.5 of them before Auto chooses).</summary>
        public static readonly TimeSpan TimeBudget = TimeSpan.FromMinutes(10);
    }

    /// <summary>A name in <see cref="Architectures.ArchitectureRegistry"/> (<c>mlnet-transfer models</c> lists them).</summary>
    public string Architecture { get; set; } = Defaults.Architecture;

    /// <summary>null: the architecture's embedded weights; an embedded weight name; a .pth/.safetensors/.dat/.onnx
    /// file; or <c>scratch</c> to train from random initialisation.</summary>
    public string? Weights { get; set; }

    /// <summary>What to fine-tune; Auto measures the data and the device and decides (with the image size).</summary>
    public FineTuneStrategy Strategy { get; set; } = FineTuneStrategy.Auto;

    /// <summary>Square side images are resized to; null: Auto's choice for the deeper strategies (the weights' own
    /// side for the classifier on pretrained features).</summary>
    public int? ImageSize { get; set; }

    /// <summary>How long a run under Auto may take on this device, from its first image read to the trained model:
    /// Auto plans within what is left after reading the images, the classifier's features, the data checks and its
    /// own measurements, and counts what the run spends after the epochs at the side it picks (the classifier solved
    /// there, the test-time flip). It picks the deepest strategy and largest image size whose measured epochs fit,
    /// and when none fits with all of <see cref="Epochs"/>, cuts the one that keeps the most of them (at least half);
    /// else the classifier alone. A plan, not a deadline: the epochs run as measured, a few percent either way. Named
    /// strategies are not limited by it.</summary>
    public TimeSpan TimeBudget { get; set; } = Defaults.TimeBudget;

    /// <summary>Passes over the training data when layers below the classifier train; under Auto, the plan, which it
    /// cuts to no fewer than half when nothing deeper than the classifier fits its budget otherwise.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Images per optimizer step; null: the device's default (<see cref="DefaultBatchSize"/>): 32 on the CPU,
    /// larger on a GPU when the training set is large enough to keep its steps.</summary>
    public int? BatchSize { get; set; }

    /// <summary>Peak learning rate; each layer group gets it times its strategy scale.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    public OptimizerKind Optimizer { get; set; } = OptimizerKind.AdamW;

    /// <summary>SGD's momentum (Nesterov's) when <see cref="Optimizer"/> is SGD.</summary>
    public const double SgdMomentum = 0.9;

    /// <summary>Decoupled weight decay (AdamW) or L2 penalty (SGD) while layers below the classifier train.</summary>
    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>The classifier's L2 penalty when it is solved on cached features; null: chosen on the validation
    /// split from a grid.</summary>
    public double? HeadWeightDecay { get; set; }

    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.OneCycle;

    /// <summary>Label smoothing for the cross-entropy loss while layers below the classifier train, 0 (off) to below 1.</summary>
    public double LabelSmoothing { get; set; } = Defaults.LabelSmoothing;

    /// <summary>Weight each class's loss by N / (C · n_c), so rare classes count as much as common ones.</summary>
    public bool BalanceClasses { get; set; }

    /// <summary>Random resized crop and horizontal flip while layers below the classifier train; null: on whenever
    /// they do (the classifier alone is solved on exact, cached features).</summary>
    public bool? Augment { get; set; }

    /// <summary>Whether the model's predictions average the image and its mirror image (one more forward pass per
    /// image when scoring); null: measured once training ends, on when it lowers the validation loss (off without a
    /// validation split). See <see cref="Recipe.TestTimeFlip"/>.</summary>
    public bool? TestTimeFlip { get; set; }

    /// <summary>Whether Score is calibrated: a temperature fitted on the validation images once training ends (one
    /// scalar; predictions unchanged), so that a score of 0.9 is right about 9 times in 10. Needs a validation split.
    /// See <see cref="Recipe.TemperatureScaling"/>.</summary>
    public bool CalibrateScores { get; set; } = true;

    /// <summary>Whether the model says which images are unlike every image it was trained on: it carries a sample of
    /// its training images' features (up to 16 MB) and flags an image whose nearest ones are farther than the
    /// validation images' are — what a score cannot do for classes the model never saw. One more pass over up to
    /// 2 000 training images and the validation images once training ends. See <see cref="Recipe.Familiarity"/>.</summary>
    public bool FlagUnfamiliar { get; set; } = true;

    /// <summary>Whether the run checks its training images on the features its classifier is solved on (seconds, no
    /// extra pass over the network): likely label errors, duplicates, outliers, and test images copied in training
    /// when the context names test images. See <see cref="Health.DataExamination"/>.</summary>
    public bool CheckData { get; set; } = true;

    /// <summary>Train without the images the data checks flag as likely label errors or duplicates (the later image of
    /// each pair), nor the training images a test image copies; outliers stay. Needs <see cref="CheckData"/>.</summary>
    public bool ExcludeFlagged { get; set; }

    /// <summary>When nothing before the classifier trains and augmentation is off, compute the classifier's inputs
    /// once. Frozen layers then run in eval mode (no dropout).</summary>
    public bool CacheFrozenFeatures { get; set; } = true;

    /// <summary>Whether BatchNorm layers update their running statistics while training; null: only when training
    /// from scratch. Pretrained statistics kept (the layers' scale and shift still train) leave the features the
    /// converged classifier was solved on unchanged at the first step.</summary>
    public bool? TrainBatchNormStatistics { get; set; }

    /// <summary>Share of each class held out for validation when no validation set is given; 0 turns it off.</summary>
    public double ValidationFraction { get; set; } = Defaults.ValidationFraction;

    /// <summary>Stop after this many epochs without a better validation accuracy. Only epochs that end once the
    /// schedule has annealed the rate to half its peak compete for best and count for patience; the best of them is
    /// restored either way. 0 turns early stopping off.</summary>
    public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

    /// <summary>Seeds the split, shuffling, augmentation, dropout and the new classifier: the same seed on the CPU gives
    /// the same model.</summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Auto (CUDA when present), Cpu or Cuda.</summary>
    public DeviceKind Device { get; set; } = DeviceKind.Auto;

    /// <summary>Convolution weights and image batches in channels-last (NHWC) layout while training; null: on the CPU
    /// only. The model is handed back in the standard layout either way.</summary>
    public bool? ChannelsLast { get; set; }

    /// <summary>Whether the run trains from random weights (no pretrained starting point).</summary>
    [JsonIgnore]
    internal bool FromScratch => string.Equals(Weights, PretrainedCatalog.Scratch, StringComparison.OrdinalIgnoreCase);

    /// <summary><see cref="TrainBatchNormStatistics"/> resolved: only from scratch unless said.</summary>
    [JsonIgnore]
    internal bool BatchNormStatisticsTrain => TrainBatchNormStatistics ?? FromScratch;

    /// <summary>Checks every option by name; throws <see cref="ArgumentException"/> naming the first bad one and
    /// what was expected.</summary>
    public virtual void Validate()
    {
        int minimum = 8;
        if (ArchitectureApplies) minimum = Math.Max(minimum, ArchitectureRegistry.Get(Architecture).MinimumInputSize);
        if (!Enum.IsDefined(Strategy)) throw new ArgumentOutOfRangeException(nameof(Strategy), Strategy, "must be Auto, HeadOnly, InitialLayers, LastLayers, WholeNetwork or RetrainAll");
        if (ImageSize is { } side && (side < minimum || side > 1024))
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize,
                $"must be between {minimum}{(ArchitectureApplies ? $" ({Architecture}'s smallest input)" : "")} and 1024 pixels");
        if (ArchitectureApplies && Weights is { } weights && !PretrainedCatalog.CanResolve(weights))
            throw new ArgumentException($"'{weights}' is neither an embedded weight name ({PretrainedCatalog.EmbeddedResNet18}), " +
                $"'{PretrainedCatalog.Scratch}' nor an existing file", nameof(Weights));
        if (TimeBudget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), TimeBudget, "must be positive");
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "must be at least 1");
        if (BatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be a positive number");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be 0 or more");
        if (HeadWeightDecay is { } l2 && (!(l2 >= 0) || double.IsInfinity(l2))) throw new ArgumentOutOfRangeException(nameof(HeadWeightDecay), HeadWeightDecay, "must be 0 or more (or null to choose it on the validation split)");
        if (LabelSmoothing is < 0 or >= 1 || double.IsNaN(LabelSmoothing)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        if (ValidationFraction is < 0 or >= 1 || double.IsNaN(ValidationFraction)) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be 0 or more");
        if (ExcludeFlagged && !CheckData) throw new ArgumentException("ExcludeFlagged leaves out what the data checks flag: it needs CheckData on", nameof(ExcludeFlagged));
    }

    /// <summary>Whether <see cref="Architecture"/> names the network (false when another starting point, such as a
    /// saved model being continued, decides it).</summary>
    [JsonIgnore]
    protected virtual bool ArchitectureApplies => true;

    /// <summary>These options, or a copy with <see cref="BatchSize"/> resolved to the device's default for
    /// <paramref name="trainImages"/> images trained at <paramref name="side"/> px.</summary>
    internal FineTuneOptions WithBatchSizeFor(TorchSharp.torch.Device device, long trainImages, Architecture architecture, int side, Action<string>? log = null)
    {
        if (BatchSize != null) return this;
        var copy = Clone();
        copy.BatchSize = DefaultBatchSize.For(device.type, trainImages, architecture, side);
        log?.Invoke(DefaultBatchSize.Describe(device.type, copy.BatchSize.Value, trainImages));
        return copy;
    }

    /// <summary>These options, or a copy with what the interrupted run began with: its batch size when none is given
    /// (whichever device it continues on) and the epochs its schedule spans (Auto may have cut them to its budget).</summary>
    internal FineTuneOptions ResumedFrom(TrainingCheckpoint? checkpoint)
    {
        int? batch = BatchSize ?? (checkpoint is { BatchSize: > 0 } ? checkpoint.BatchSize : null);
        int epochs = checkpoint is { Epochs: > 0 } ? checkpoint.Epochs : Epochs;
        if (batch == BatchSize && epochs == Epochs) return this;
        var copy = Clone();
        (copy.BatchSize, copy.Epochs) = (batch, epochs);
        return copy;
    }

    /// <summary>The batch size once resolved (<see cref="WithBatchSizeFor"/>).</summary>
    [JsonIgnore]
    internal int Batch => BatchSize ?? throw new InvalidOperationException("the batch size has not been resolved for the device");

    /// <summary>A copy of the options (the record a run resolves Auto into, leaving the caller's untouched).</summary>
    public FineTuneOptions Clone() => (FineTuneOptions)MemberwiseClone();
}

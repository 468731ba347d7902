using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>How <see cref="FineTuner"/> trains. Every member has a default that suits a few hundred images.</summary>
public sealed class FineTuneOptions
{
    public static class Defaults
    {
        public const int Epochs = 10;
        public const int BatchSize = 32;
        public const double LearningRate = 1e-3;
        public const double WeightDecay = 1e-4;
        public const double ValidationFraction = 0.2;
        public const int EarlyStoppingPatience = 3;
        public const int Seed = 1;
    }

    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Base learning rate; each layer group gets it times its strategy scale.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    public OptimizerKind Optimizer { get; set; } = OptimizerKind.AdamW;

    /// <summary>Decoupled weight decay (AdamW) or L2 penalty (SGD).</summary>
    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.OneCycle;

    /// <summary>Label smoothing for the cross-entropy loss, 0 (off) to below 1.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Weight each class's loss by N / (C · n_c), so rare classes count as much as common ones.</summary>
    public bool BalanceClasses { get; set; }

    /// <summary>Random resized crop and horizontal flip of training batches; off for exact, cacheable inputs.</summary>
    public bool Augment { get; set; } = true;

    /// <summary>When nothing before the classifier trains and <see cref="Augment"/> is off, compute the classifier's
    /// inputs once and train on them: epochs after the first cost a fraction of it. Frozen layers then run in eval
    /// mode (no dropout).</summary>
    public bool CacheFrozenFeatures { get; set; } = true;

    /// <summary>Share of each class held out for validation when no validation set is given; 0 turns it off.</summary>
    public double ValidationFraction { get; set; } = Defaults.ValidationFraction;

    /// <summary>Stop after this many epochs without a better validation loss and restore the best epoch;
    /// 0 turns early stopping off (the best epoch is still restored).</summary>
    public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

    /// <summary>Seeds shuffling, the split, augmentation and torch's global generator (dropout): the same seed on CPU
    /// gives the same model, provided nothing else in the process draws from torch's global generator meanwhile.</summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Where the model trains; CPU when null.</summary>
    public Device? Device { get; set; }

    /// <summary>Convolution weights and image batches in channels-last (NHWC) layout while training; null: on the CPU
    /// only (see <see cref="ChannelsLast"/>). The model is handed back in the standard layout either way.</summary>
    public bool? ChannelsLast { get; set; }

    /// <summary>Called after every batch and epoch.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Checks the options by name; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "must be at least 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be a positive number");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be 0 or more");
        if (LabelSmoothing is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        if (ValidationFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        if (EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be 0 or more");
    }
}

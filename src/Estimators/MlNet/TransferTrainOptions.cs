using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;

namespace MlNetTransfer.MlNet;

/// <summary>Everything <see cref="TransferTrainEstimator"/> can be told. Each member has a default; the engine's
/// defaults are shared through <see cref="FineTuneOptions.Defaults"/>.</summary>
public sealed class TransferTrainOptions
{
    public static class Defaults
    {
        public const string LabelColumnName = "Label";
        public const string ImageColumnName = "Image";
        public const string ScoreColumnName = "Score";
        public const string PredictedLabelColumnName = "PredictedLabel";
        public const string Architecture = "resnet18_cntk";
    }

    /// <summary>Key-typed label column (MapValueToKey's output), whose key values are the class names.</summary>
    public string LabelColumnName { get; set; } = Defaults.LabelColumnName;

    /// <summary>Image column (LoadImages' output).</summary>
    public string ImageColumnName { get; set; } = Defaults.ImageColumnName;

    /// <summary>Output: class probabilities, a float vector with one slot per class in label key order.</summary>
    public string ScoreColumnName { get; set; } = Defaults.ScoreColumnName;

    /// <summary>Output: the predicted class, a key with the label's key values (MapKeyToValue turns it into text).</summary>
    public string PredictedLabelColumnName { get; set; } = Defaults.PredictedLabelColumnName;

    /// <summary>Registry name: alexnet, resnet18, resnet18_cntk, resnet34, resnet50, mobilenet_v2, vgg16, tiny.</summary>
    public string Architecture { get; set; } = Defaults.Architecture;

    /// <summary>null: the architecture's embedded weights; an embedded weight name; a .pth/.safetensors/.dat/.onnx
    /// file; or <see cref="PretrainedCatalog.Scratch"/> to train from random initialisation.</summary>
    public string? Weights { get; set; }

    /// <summary>Continue from a model saved by this estimator: its network and weights are the starting point
    /// (<see cref="Architecture"/> and <see cref="Weights"/> are then ignored).</summary>
    public string? ContinueFromModelPath { get; set; }

    public FineTuneStrategy Strategy { get; set; } = FineTuneStrategy.Auto;

    /// <summary>Square side images are resized to; null uses the weights' own (224 for ImageNet weights).
    /// Smaller is much faster on CPU.</summary>
    public int? ImageSize { get; set; }

    public int Epochs { get; set; } = FineTuneOptions.Defaults.Epochs;
    public int BatchSize { get; set; } = FineTuneOptions.Defaults.BatchSize;
    public double LearningRate { get; set; } = FineTuneOptions.Defaults.LearningRate;
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.AdamW;
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.OneCycle;
    public double LabelSmoothing { get; set; }
    public bool BalanceClasses { get; set; }
    /// <summary>Random resized crop and flip while training. null (default): off when only the classifier trains
    /// (its inputs are then computed once and cached, and short head-only runs learn better from exact images), on
    /// whenever backbone layers train.</summary>
    public bool? Augment { get; set; }

    /// <summary>Share of each class held out when <see cref="ValidationSet"/> is null; 0 turns validation off.</summary>
    public double ValidationFraction { get; set; } = FineTuneOptions.Defaults.ValidationFraction;

    /// <summary>A validation set with the same columns as the training data (after MapValueToKey and LoadImages).</summary>
    public IDataView? ValidationSet { get; set; }

    public int EarlyStoppingPatience { get; set; } = FineTuneOptions.Defaults.EarlyStoppingPatience;
    public int Seed { get; set; } = FineTuneOptions.Defaults.Seed;

    /// <summary>Auto (CUDA when present), Cpu or Cuda; MLContext.GpuDeviceId and FallbackToCpu apply too.</summary>
    public DeviceKind Device { get; set; } = DeviceKind.Auto;

    /// <summary>Progress per batch and epoch; also receives the Auto decision and skipped rows through
    /// <see cref="Log"/>.</summary>
    public Action<TrainingProgress>? Progress { get; set; }

    /// <summary>One-line messages: the strategy chosen and why, the device, rows skipped.</summary>
    public Action<string>? Log { get; set; }

    public CancellationToken CancellationToken { get; set; }
}

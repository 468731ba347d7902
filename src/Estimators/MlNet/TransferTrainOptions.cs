using System.Text.Json.Serialization;
using Microsoft.ML;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.MlNet;

/// <summary>Everything <see cref="TransferTrainEstimator"/> can be told: the engine's one options record
/// (<see cref="FineTuneOptions"/>: architecture, weights, strategy, image size, time budget, epochs …) plus the
/// columns, a validation set, a model to continue from, and the run's callbacks.</summary>
public sealed class TransferTrainOptions : FineTuneOptions
{
    public new static class Defaults
    {
        public const string LabelColumnName = "Label";
        public const string ImageColumnName = "Image";
        public const string ScoreColumnName = "Score";
        public const string PredictedLabelColumnName = "PredictedLabel";
        public const string UnfamiliarColumnName = "Unfamiliar";
        public const string Architecture = FineTuneOptions.Defaults.Architecture;
    }

    /// <summary>Key-typed label column (MapValueToKey's output), whose key values are the class names.</summary>
    public string LabelColumnName { get; set; } = Defaults.LabelColumnName;

    /// <summary>Image column (LoadImages' output).</summary>
    public string ImageColumnName { get; set; } = Defaults.ImageColumnName;

    /// <summary>Output: class probabilities, a float vector with one slot per class in label key order.</summary>
    public string ScoreColumnName { get; set; } = Defaults.ScoreColumnName;

    /// <summary>Output: the predicted class, a key with the label's key values (MapKeyToValue turns it into text).</summary>
    public string PredictedLabelColumnName { get; set; } = Defaults.PredictedLabelColumnName;

    /// <summary>Output, with <see cref="FineTuneOptions.FlagUnfamiliar"/>: a boolean, true for an image unlike every
    /// image the model was trained on (its nearest training images farther than the validation images' are) — an image
    /// of a class the model never saw, whatever its Score says. Absent from models trained without it.</summary>
    public string UnfamiliarColumnName { get; set; } = Defaults.UnfamiliarColumnName;

    /// <summary>Optional: the text column of image paths that LoadImages read (e.g. <c>"ImagePath"</c>), with
    /// <see cref="ImageFolder"/>. Then TransferTrain decodes the files itself, once, on every core, and the image column
    /// is not read: the check that a file is whole and its decode are one pass (LoadImages alone decodes a file whose
    /// data ends early, with black rows for the rest); JPEGs decode at the smallest DCT scale that covers the side
    /// (a 12-megapixel photo several times faster than LoadImages' full decode); images are turned upright as their
    /// EXIF orientation asks; and a file over <see cref="MaxImagePixels"/> is refused from its header. Serve the model
    /// with the same decode (the CLI's Consume.cs shows it; LoadImages decodes at full size and as stored). Not part of
    /// the saved model.</summary>
    public string? ImagePathColumnName { get; set; }

    /// <summary>The folder <see cref="ImagePathColumnName"/>'s paths are relative to (LoadImages' imageFolder); null
    /// when they are absolute.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>With <see cref="ImagePathColumnName"/>: the most pixels an image file may hold (its header's width ×
    /// height, checked before anything is decoded); a larger one is skipped and reported like an unreadable one.</summary>
    public long MaxImagePixels { get; set; } = Imaging.ImageDecoder.DefaultMaxPixels;

    /// <summary>Fail the fit with <see cref="UnreadableImagesException"/> when an image cannot be read, instead of
    /// skipping it and reporting it through <see cref="Log"/>.</summary>
    public bool FailOnUnreadableImages { get; set; }

    /// <summary>Where the decoded training images are kept and reused by later runs while the image files (known
    /// through <see cref="ImagePathColumnName"/>), their sizes, modification times, the labels and the image side
    /// are unchanged; null: a temp file in MLContext.TempFilePath, removed after Fit. Decoded images live in a file
    /// either way (3 · side² bytes each), never all in memory. Not part of the saved model.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Continue from a model saved by this estimator: its network and weights are the starting point
    /// (<see cref="FineTuneOptions.Architecture"/> and <see cref="FineTuneOptions.Weights"/> are then ignored).</summary>
    public string? ContinueFromModelPath { get; set; }

    /// <summary>Where an interrupted run stopped: training goes on from there and ends where the uninterrupted run would
    /// have. A checkpoint kept while training went on (<see cref="Checkpoint"/>, read back with
    /// <see cref="TrainingCheckpoint.Load"/>) carries the network; a cancelled fit's needs
    /// <see cref="ContinueFromModelPath"/> naming the partial model saved with it.</summary>
    [JsonIgnore]
    public TrainingCheckpoint? ResumeFrom { get; set; }

    /// <summary>Called at the end of an epoch that training goes on after, at most once per
    /// <see cref="CheckpointInterval"/>, with the run as it stands and the whole network: save it
    /// (<c>checkpoint.Save(path)</c>, atomic) and a fit whose process died without a word — killed, out of memory, the
    /// machine gone — continues from that epoch with <c>ResumeFrom = TrainingCheckpoint.Load(path)</c> and the same
    /// data and options. Its tensors are freed when the call returns. Not part of the saved model.</summary>
    [JsonIgnore]
    public Action<TrainingCheckpoint>? Checkpoint { get; set; }

    /// <summary>The least time between two <see cref="Checkpoint"/> calls (two minutes by default; zero: every epoch).</summary>
    [JsonIgnore]
    public TimeSpan CheckpointInterval { get; set; } = TrainingContext.DefaultCheckpointInterval;

    /// <summary>A validation set with the same columns as the training data (after MapValueToKey and LoadImages);
    /// <see cref="FineTuneOptions.ValidationFraction"/> is then not used.</summary>
    [JsonIgnore]
    public IDataView? ValidationSet { get; set; }

    /// <summary>The images the trained model will be tested on (same columns as the training data), for the data
    /// checks alone: those with a copy among the training images are reported as leaks
    /// (<see cref="TransferTrainTransformer.DataHealth"/>). Never trained, validated or chosen on.</summary>
    [JsonIgnore]
    public IDataView? TestSet { get; set; }

    /// <summary>The folder <see cref="TestSet"/>'s image paths are relative to, when it differs from
    /// <see cref="ImageFolder"/>.</summary>
    [JsonIgnore]
    public string? TestImageFolder { get; set; }

    /// <summary>Progress per batch and epoch.</summary>
    [JsonIgnore]
    public Action<TrainingProgress>? Progress { get; set; }

    /// <summary>One-line messages: the device, the classifier's solve, the strategy chosen and why, rows skipped.
    /// Without it they go to ML.NET's log, as Info from "TransferTrain; Fit" (<c>mlContext.Log</c>, where every ML.NET
    /// trainer's messages go).</summary>
    [JsonIgnore]
    public Action<string>? Log { get; set; }

    [JsonIgnore]
    public CancellationToken CancellationToken { get; set; }

    /// <summary>A continued model brings its own architecture.</summary>
    protected override bool ArchitectureApplies => ContinueFromModelPath == null;

    /// <summary>Checks the column names and every engine option by name.</summary>
    public override void Validate()
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(LabelColumnName), LabelColumnName), (nameof(ImageColumnName), ImageColumnName),
                     (nameof(ScoreColumnName), ScoreColumnName), (nameof(PredictedLabelColumnName), PredictedLabelColumnName),
                     (nameof(UnfamiliarColumnName), FlagUnfamiliar ? UnfamiliarColumnName : "unused"),
                 })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{name} must name a column.", name);
        if (ImageFolder != null && ImagePathColumnName == null)
            throw new ArgumentException($"{nameof(ImageFolder)} needs {nameof(ImagePathColumnName)}: the column of paths relative to it.", nameof(ImageFolder));
        if (ImageFolder != null && !Directory.Exists(ImageFolder))
            throw new ArgumentException($"{nameof(ImageFolder)} {ImageFolder}: no such folder.", nameof(ImageFolder));
        if (MaxImagePixels < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxImagePixels), $"{nameof(MaxImagePixels)} must be at least 1, not {MaxImagePixels}.");
        if (ResumeFrom is { Weights.Count: 0 } && ContinueFromModelPath == null)
            throw new ArgumentException($"{nameof(ResumeFrom)} needs {nameof(ContinueFromModelPath)}: the checkpoint model saved with it " +
                "(a cancelled fit's checkpoint does not carry the network; one kept while training went on does).", nameof(ResumeFrom));
        if (CheckpointInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), $"{nameof(CheckpointInterval)} must be zero or more, not {CheckpointInterval}.");
        base.Validate();
    }
}

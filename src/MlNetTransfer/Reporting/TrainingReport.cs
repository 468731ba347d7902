using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>Everything metrics.json holds: the test metrics, the run's record (what was chosen and why, how training
/// went), the data it trained on, timings.</summary>
public sealed record TrainingReport(
    ClassificationReport Test,
    string TestSource,
    RunRecord Run,
    int TrainImages,
    IReadOnlyList<string> SkippedImages,
    double TrainSeconds,
    double EvaluateSeconds)
{
    /// <summary>"612.3 s (time budget 600 s)": how long training took, and the budget it was planned in where Auto chose.</summary>
    public string TrainTime => $"{TrainSeconds:0.0} s" + (Run.Auto is { } auto ? $" (time budget {auto.BudgetSeconds:0} s)" : "");

    /// <summary>The test images' calibration before and after the model's temperature (null until they are scored).</summary>
    public CalibrationReport? Calibration { get; init; }

    /// <summary>What the data checks found (<see cref="DataHealthReport.NotChecked"/> when the run did not check), and
    /// every flagged image by path; the training images' paths are relative to <see cref="TrainImageRoot"/>.</summary>
    public DataHealthReport DataHealth { get; init; } = DataHealthReport.NotChecked;
    public IReadOnlyList<FlaggedImage> DataIssues { get; init; } = [];
    public string? TrainImageRoot { get; init; }

    /// <summary>Grad-CAM maps by test image file: the top losses' for the class predicted, the surest right images' for
    /// their class (an image that cannot be read has none).</summary>
    public IReadOnlyDictionary<string, float[,]> Heatmaps { get; init; } = new Dictionary<string, float[,]>();

    /// <summary>The most pixels an image may claim (--max-image-pixels): the report's pictures of the training and test
    /// images decode within it, as training and scoring did.</summary>
    public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

    /// <summary>The test images' comparison with the model `--against` named (null without one).</summary>
    public AgainstReport? Against { get; init; }

    /// <summary>Unreadable images of a separate --test set, "file: reason".</summary>
    public IReadOnlyList<string> TestSkipped { get; init; } = [];

    /// <summary>Test images of classes the training data lacks, by class: left out of the metrics, not counted as errors.</summary>
    public IReadOnlyDictionary<string, int> UnknownTestClasses { get; init; } = new Dictionary<string, int>();
}

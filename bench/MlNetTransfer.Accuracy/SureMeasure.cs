using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Accuracy;

/// <summary>
/// How far a model's sure answers can be trusted, measured the same way for `train` and the ML.NET baseline: at
/// Score ≥ 0.9 the share of the test images answered and how often those are right, the accuracy of the surest 80 %
/// (answered as `predict --min-score` answers: a model that flags unfamiliar images leaves those to a person; the
/// baseline's does not flag), and the share of foreign images — the other data set's test images, of classes the model
/// never saw — whose score reaches 0.9 all the same (every such answer is wrong: fewer is better).
/// </summary>
public sealed record SureMeasure(double Answered90, double? Accuracy90, double? Surest80Accuracy, double? ForeignAnswered90)
{
    /// <summary>The share of the test images the model calls unfamiliar (false alarms: they are of its classes); null
    /// for a model that does not say.</summary>
    public double? TestUnfamiliar { get; init; }

    /// <summary>The share of the foreign images the model calls unfamiliar (catches: more is better).</summary>
    public double? ForeignUnfamiliar { get; init; }

    /// <summary>The share of the foreign images answered at Score ≥ 0.9 and not called unfamiliar: what an app that
    /// heeds both still gets wrong.</summary>
    public double? ForeignAnsweredFamiliar { get; init; }

    public const double MinScore = 0.9;

    /// <summary>The share of the surest test images <see cref="Surest80Accuracy"/> is measured on.</summary>
    public const double SurestShare = 0.8;

    /// <summary>From a model's scores: the test images' with their classes, and the foreign images' where measured.</summary>
    public static SureMeasure Of(IReadOnlyList<ScoredImage> test, IReadOnlyList<float[]>? foreign)
    {
        var sure = SureAnswers.At(test, MinScore);
        return new SureMeasure(sure.Coverage, sure.Accuracy, SureAnswers.Surest(test, SurestShare).Accuracy,
            foreign is null or { Count: 0 } ? null : (double)foreign.Count(s => SureAnswers.IsSure(s, MinScore)) / foreign.Count);
    }

    /// <summary>The test images of the data set <paramref name="split"/> is not from, where this machine has them
    /// prepared (a run with both sets), else null.</summary>
    public static string? ForeignFolder(ImageSplit split, string dataRoot, int seed)
    {
        var folder = Path.Combine(dataRoot, split.DataSet == "icons" ? "fashion-mnist" : "icons", $"test-1000-seed{seed}");
        return File.Exists(Path.Combine(folder, ".complete")) ? folder : null;
    }

    /// <summary>Every PNG under <paramref name="folder"/>, in a fixed order.</summary>
    public static IReadOnlyList<string> Images(string folder) =>
        Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
}

namespace MlNetTransfer.Cli.Reporting;

/// <summary>What a classifier did on a labelled test set: the numbers people look at, computed from the scores.</summary>
public sealed record ClassificationReport(
    IReadOnlyList<string> Classes,
    int Images,
    double MicroAccuracy,
    double MacroAccuracy,
    double LogLoss,
    IReadOnlyList<ClassMetrics> PerClass,
    int[][] ConfusionMatrix,
    IReadOnlyList<ScoredImage> TopLosses)
{
    const double Epsilon = 1e-15;

    /// <summary>For each class with a correct prediction, the test image it was surest of: what the report's heatmaps
    /// show the model looking at when it is right.</summary>
    public IReadOnlyList<ScoredImage> SurestRight { get; init; } = [];

    /// <summary>How many of the most probable classes count as a hit for <see cref="TopKAccuracy"/>.</summary>
    public const int TopK = 5;

    /// <summary>The share of images whose true class is among the <see cref="TopK"/> most probable (ties not in its
    /// favour): with many classes the number ImageNet is read by, and what a shortlist of suggestions would get;
    /// null with <see cref="TopK"/> classes or fewer, where it is 100 % by definition.</summary>
    public double? TopKAccuracy { get; init; }

    /// <summary><see cref="TopK"/> where <see cref="TopKAccuracy"/> is reported, else null (for the JSON files).</summary>
    public int? TopKReported => TopKAccuracy is null ? null : TopK;

    /// <summary>What answering only at a minimum top score gets, at each of <see cref="SureAnswers.Thresholds"/>.</summary>
    public IReadOnlyList<SureAnswers> SureByScore { get; init; } = [];

    /// <summary>The row of <see cref="SureByScore"/> at <see cref="SureAnswers.DefaultMinScore"/>: the console's line.</summary>
    public SureAnswers? SureAtDefault => SureByScore.FirstOrDefault(s => s.MinScore == SureAnswers.DefaultMinScore);

    /// <summary>What the surest <see cref="SureAnswers.Shares"/> of the images get, the rest left to a person.</summary>
    public IReadOnlyList<SureAnswers> SureByShare { get; init; } = [];

    /// <summary>The threshold shown for answers right at least each of <see cref="TargetAccuracy.Targets"/> of the time,
    /// with 95 % confidence, or that these images show none.</summary>
    public IReadOnlyList<TargetAccuracy> ForTargets { get; init; } = [];

    /// <summary>How many images the model calls unfamiliar; null when it does not say.</summary>
    public UnfamiliarCount? Unfamiliar { get; init; }

    /// <summary>The test images the report's gallery shows.</summary>
    public const int DefaultTopLosses = 12;

    public static ClassificationReport Compute(IReadOnlyList<string> classes, IReadOnlyList<ScoredImage> scored, int topLosses = DefaultTopLosses)
    {
        if (scored.Count == 0) throw new ArgumentException("no scored images", nameof(scored));
        int k = classes.Count;
        var confusion = Enumerable.Range(0, k).Select(_ => new int[k]).ToArray(); // [actual][predicted]
        double logLoss = 0;
        foreach (var image in scored)
        {
            confusion[image.Truth][image.Predicted]++;
            logLoss -= Math.Log(Math.Max(image.Scores[image.Truth], Epsilon));
        }
        var perClass = new List<ClassMetrics>();
        for (int c = 0; c < k; c++)
        {
            int truePositive = confusion[c][c];
            int support = confusion[c].Sum();
            int predicted = confusion.Sum(row => row[c]);
            double precision = predicted == 0 ? 0 : (double)truePositive / predicted;
            double recall = support == 0 ? 0 : (double)truePositive / support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(classes[c], precision, recall, f1, support));
        }
        double micro = (double)Enumerable.Range(0, k).Sum(c => confusion[c][c]) / scored.Count;
        var present = perClass.Where(m => m.Support > 0).ToList();
        double macro = present.Average(m => m.Recall);
        var losses = scored.OrderByDescending(s => s.Loss).Take(topLosses).ToList();
        var surestRight = scored.Where(s => s.Predicted == s.Truth).GroupBy(s => s.Truth).OrderBy(g => g.Key).Select(g => g.MinBy(s => s.Loss)!).ToList();
        double? topK = k <= TopK ? null
            : (double)scored.Count(s => s.Scores.Count(p => p > s.Scores[s.Truth]) < TopK) / scored.Count;
        return new ClassificationReport(classes, scored.Count, micro, macro, logLoss / scored.Count, perClass, confusion, losses)
        {
            SurestRight = surestRight, TopKAccuracy = topK,
            SureByScore = SureAnswers.Thresholds.Select(t => SureAnswers.At(scored, t)).ToList(),
            SureByShare = SureAnswers.Shares.Select(share => SureAnswers.Surest(scored, share)).ToList(),
            ForTargets = TargetAccuracy.Targets.Select(target => TargetAccuracy.Find(scored, target)).ToList(),
            Unfamiliar = UnfamiliarCount.Of(scored),
        };
    }
}

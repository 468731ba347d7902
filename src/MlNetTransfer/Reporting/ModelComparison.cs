using System.Globalization;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>
/// Two models on the same labelled images (`evaluate --against`): whether one is more accurate than the other or the
/// difference is what chance gives on this many images. Paired, image by image: of the images one model gets right and
/// the other wrong (<see cref="Fixed"/> by the model evaluated, <see cref="Broken"/> by it), McNemar's exact test
/// asks how likely a split at least this uneven is when neither model is better (a fair coin per disagreement); the
/// log-loss difference comes with a 95 % interval from a paired bootstrap of the per-image losses (seeded, so the same
/// images give the same interval). Only images both models scored and whose class both know are compared; each model
/// scores in its own class order, matched by class name.
/// </summary>
/// <param name="Images">How many images both models were compared on.</param>
/// <param name="Accuracy">The evaluated model's accuracy on them.</param>
/// <param name="AgainstAccuracy">The other model's.</param>
/// <param name="Fixed">Images the evaluated model gets right and the other wrong.</param>
/// <param name="Broken">Images the other model gets right and the evaluated one wrong.</param>
/// <param name="PValue">McNemar's exact two-sided p-value: under 0.05, the accuracies differ by more than chance.</param>
/// <param name="LogLoss">The evaluated model's log-loss on the images compared.</param>
/// <param name="AgainstLogLoss">The other model's.</param>
/// <param name="LogLossDifferenceLow">The 95 % interval's lower end for <see cref="LogLoss"/> − <see cref="AgainstLogLoss"/>.</param>
/// <param name="LogLossDifferenceHigh">Its upper end.</param>
/// <param name="LeftOut">Images only one of the models could be compared on (unreadable by one, or of a class one does not know).</param>
public sealed record ModelComparison(int Images, double Accuracy, double AgainstAccuracy, int Fixed, int Broken, double PValue,
    double LogLoss, double AgainstLogLoss, double LogLossDifferenceLow, double LogLossDifferenceHigh, int LeftOut)
{
    /// <summary>The p-value under which the accuracies are said to differ.</summary>
    public const double Significance = 0.05;

    /// <summary>Bootstrap resamples for the log-loss interval.</summary>
    public const int Resamples = 2000;

    /// <summary><paramref name="evaluated"/> (scores in <paramref name="classes"/>' order) against <paramref name="against"/>
    /// (in <paramref name="againstClasses"/>' order), paired by file.</summary>
    public static ModelComparison Of(IReadOnlyList<ScoredImage> evaluated, IReadOnlyList<string> classes,
        IReadOnlyList<ScoredImage> against, IReadOnlyList<string> againstClasses, int seed = 1)
    {
        var other = against.ToDictionary(s => s.File, StringComparer.Ordinal);
        var pairs = new List<(bool Right, bool AgainstRight, double Loss, double AgainstLoss)>();
        foreach (var image in evaluated)
        {
            if (!other.TryGetValue(image.File, out var theirs)) continue;
            if (classes[image.Truth] != againstClasses[theirs.Truth])
                throw new ArgumentException($"{image.File} is of class {classes[image.Truth]} for one model and {againstClasses[theirs.Truth]} for the other: the same labelled images were not given to both");
            pairs.Add((image.Predicted == image.Truth, theirs.Predicted == theirs.Truth, image.Loss, theirs.Loss));
        }
        int leftOut = evaluated.Count + against.Count - 2 * pairs.Count;
        if (pairs.Count == 0) throw new ArgumentException("no image was scored by both models: nothing to compare them on");
        int n = pairs.Count;
        int fixedCount = pairs.Count(p => p.Right && !p.AgainstRight), broken = pairs.Count(p => !p.Right && p.AgainstRight);
        var differences = pairs.Select(p => p.Loss - p.AgainstLoss).ToArray();
        var (low, high) = BootstrapInterval(differences, seed);
        return new ModelComparison(n, pairs.Count(p => p.Right) / (double)n, pairs.Count(p => p.AgainstRight) / (double)n, fixedCount, broken,
            McNemar(fixedCount, broken), pairs.Average(p => p.Loss), pairs.Average(p => p.AgainstLoss), low, high, leftOut);
    }

    /// <summary>McNemar's exact two-sided p-value for <paramref name="fixedCount"/> against <paramref name="broken"/>
    /// disagreements: twice the binomial tail of the larger count at one half, at most 1.</summary>
    public static double McNemar(int fixedCount, int broken)
    {
        int disagreements = fixedCount + broken;
        if (disagreements == 0) return 1;
        return Math.Min(1, 2 * Binomial.UpperTail(disagreements, Math.Max(fixedCount, broken), 0.5));
    }

    /// <summary>The 2.5th and 97.5th percentiles of the mean of <paramref name="values"/> resampled with replacement.</summary>
    static (double Low, double High) BootstrapInterval(double[] values, int seed)
    {
        var random = new Random(seed);
        var means = new double[Resamples];
        for (int r = 0; r < Resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < values.Length; i++) sum += values[random.Next(values.Length)];
            means[r] = sum / values.Length;
        }
        Array.Sort(means);
        return (Percentile(means, 0.025), Percentile(means, 0.975));
    }

    static double Percentile(double[] sorted, double q)
    {
        double at = q * (sorted.Length - 1);
        int below = (int)Math.Floor(at);
        return below + 1 < sorted.Length ? sorted[below] + (at - below) * (sorted[below + 1] - sorted[below]) : sorted[below];
    }

    /// <summary>Whether the accuracies differ by more than chance at <see cref="Significance"/>.</summary>
    public bool AccuracyDiffers => PValue < Significance;

    /// <summary>Whether the log-loss interval leaves out 0.</summary>
    public bool LogLossDiffers => LogLossDifferenceLow > 0 || LogLossDifferenceHigh < 0;

    /// <summary>The comparison in two sentences, <paramref name="name"/> naming the other model.</summary>
    public string Describe(string name)
    {
        var c = CultureInfo.InvariantCulture;
        string verdict = !AccuracyDiffers
            ? "within chance: these images do not show either model more accurate"
            : Accuracy > AgainstAccuracy ? "more accurate than it, beyond chance" : "less accurate than it, beyond chance";
        string split = Fixed + Broken == 0 ? "both get the same images right"
            : $"of the {Fixed + Broken} only one of them gets right, this model gets {Fixed} and the other {Broken}";
        string loss = !LogLossDiffers ? "neither lower beyond chance"
            : LogLossDifferenceHigh < 0 ? "lower, beyond chance" : "higher, beyond chance";
        return string.Create(c,
            $"against {name}: accuracy {Accuracy:P1} vs {AgainstAccuracy:P1} on the same {Images} images; {split} " +
            $"(McNemar's exact test p = {PValue:0.###}): {verdict}. " +
            $"Log-loss {LogLoss:0.000} vs {AgainstLogLoss:0.000}, difference {LogLoss - AgainstLogLoss:+0.000;-0.000;0.000} " +
            $"(95 % interval {LogLossDifferenceLow:+0.000;-0.000;0.000} to {LogLossDifferenceHigh:+0.000;-0.000;0.000}, paired bootstrap): {loss}.") +
            (LeftOut > 0 ? $" {LeftOut} image(s) scored by one model only left out." : "");
    }
}

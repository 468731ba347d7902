namespace MlNetTransfer.Cli.Reporting;

/// <summary>
/// The minimum score to answer at for answers right at least <see cref="Target"/> of the time, chosen on labelled
/// images so that the claim holds with <see cref="Confidence"/> (`evaluate --target-accuracy`): the lowest threshold —
/// the most images answered — whose answers' accuracy a one-sided exact binomial test shows above the target.
/// Thresholds are tried from the surest images down in a sequence fixed before the labels are looked at (the
/// threshold that answers the <see cref="FirstCount"/> surest images, then <see cref="Step"/> of the images more at a
/// time, each the top score of the last of them) and the search stops at the first that fails: fixed-sequence testing, so the chance that the
/// threshold returned answers below the target on images like these is at most 1 − <see cref="Confidence"/> however
/// many were tried (Angelopoulos et al., "Learn then Test", 2021). Answered as <see cref="SureAnswers.IsAnswered"/>:
/// images the model calls unfamiliar are left to a person.
/// </summary>
/// <param name="Found">What answering at the threshold found gets on these images; null when none passes (too few
/// images, or a target the model does not reach on them).</param>
/// <param name="PValue">The test's p-value at <paramref name="Found"/>'s threshold (null with none).</param>
public sealed record TargetAccuracy(double Target, double Confidence, int Images, SureAnswers? Found, double? PValue)
{
    /// <summary>The targets train's report and metrics.json show.</summary>
    public static IReadOnlyList<double> Targets { get; } = [0.9, 0.95, 0.99];

    /// <summary>The confidence `evaluate --target-accuracy` holds its claim with.</summary>
    public const double DefaultConfidence = 0.95;

    /// <summary>The coverage between two thresholds tried: 1 % of the images (at least one image).</summary>
    public const double Step = 0.01;

    /// <summary>The threshold for <paramref name="target"/> on <paramref name="scored"/>.</summary>
    public static TargetAccuracy Find(IReadOnlyList<ScoredImage> scored, double target, double confidence = DefaultConfidence)
    {
        if (!(target is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(target), $"a target accuracy between 0 and 1, not {target}");
        if (!(confidence is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), $"a confidence between 0 and 1, not {confidence}");
        double alpha = 1 - confidence;
        var tops = scored.Where(s => s.Unfamiliar != true).Select(s => s.Scores.Max()).OrderDescending().ToArray();
        int first = FirstCount(target, alpha, tops.Length);
        int step = Math.Max(1, (int)Math.Ceiling(Step * scored.Count - 1e-9));
        SureAnswers? found = null;
        double? pValue = null;
        float last = float.NaN;
        foreach (int count in Counts(first, step, tops.Length))
        {
            float threshold = tops[count - 1];
            if (threshold == last) continue; // ties: the same answers as the threshold before
            last = threshold;
            var answers = SureAnswers.At(scored, threshold);
            double p = Binomial.UpperTail(answers.Answered, answers.Right, target);
            if (p > alpha) break;
            (found, pValue) = (answers, p);
        }
        return new TargetAccuracy(target, confidence, scored.Count, found, pValue);
    }

    /// <summary>Where the sequence starts: the fewest answers that pass with one of them wrong (93 for 95 %, 46 for 90 %).
    /// Fewer could pass only all right, so a single early mistake would end the search before the images that carry
    /// the threshold are counted.</summary>
    /// <param name="most">Stop looking past this many (the images there are): more than it means none can pass.</param>
    public static int FirstCount(double target, double alpha, int most = int.MaxValue - 1)
    {
        int count = 2;
        while (count <= most && Binomial.UpperTail(count, count - 1, target) > alpha) count++;
        return count;
    }

    /// <summary>The numbers of surest images whose thresholds are tried: from <paramref name="first"/> by
    /// <paramref name="step"/>, and all <paramref name="answerable"/> last.</summary>
    static IEnumerable<int> Counts(int first, int step, int answerable)
    {
        for (int count = first; count < answerable; count += step) yield return count;
        if (first <= answerable) yield return answerable;
    }

    /// <summary>"for answers at least 95 % right (95 % confidence): --min-score 0.87412345 answers 712 of 1000 images (71 %),
    /// 97.2 % right here": the score as the model gives it (a rounded one would answer other images than those tested).</summary>
    public string Describe() =>
        $"for answers at least {Target:P1} right ({Confidence:P0} confidence): " + (Found is { } f
            ? $"--min-score {((float)f.MinScore).ToString("R", System.Globalization.CultureInfo.InvariantCulture)} answers {f.Answered} of {f.Images} images ({f.Coverage:P0}), {f.Accuracy:P1} right here"
            : $"no minimum score shows it on these {Images} images — more labelled images, or a lower target");
}

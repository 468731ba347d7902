namespace MlNetTransfer.Engine.Strategies;

/// <summary>
/// Auto measures instead of guessing. Its inputs: the converged linear head's validation accuracy (how well the
/// pretrained features already separate the classes — the recipe's "similarity"), the images per class, and the
/// seconds an epoch of each strategy takes on this device at each candidate image size (a few timed batches). It
/// picks the deepest strategy, at the largest image size, whose planned epochs — with what the run then spends at that
/// side — fit what is left of the time budget after what the run has spent before (decoding, the classifier's
/// features, the data checks, Auto's own measurements): the whole network
/// (discriminative rates when the data resembles the pretraining data, one rate when it does not), else the last
/// layers; when none fits with all its epochs, the one that keeps the most of them within the budget (at least
/// <see cref="FewestEpochsShare"/> of them); else the head alone. The head alone is also the answer when it already
/// separates the classes, when there are too few images per class to judge a deeper model, or when there is no
/// validation split to judge it on — and after training, a deeper model that is worse on validation than the head
/// gives way to it.
/// </summary>
public static class AutoStrategy
{
    /// <summary>A head at least this far from chance towards perfect (0..1) means the data resembles the pretraining data.</summary>
    public const double SimilarityThreshold = 0.5;

    /// <summary>Validation accuracy at which the converged head leaves nothing for deeper layers to gain.</summary>
    public const double SeparatedAccuracy = 0.99;

    /// <summary>Fewer images per class than this: a validation split too small to tell a deeper model's gain from noise.</summary>
    public const double MinimumImagesPerClass = 10;

    /// <summary>The share of the planned epochs a deeper strategy may be cut to when it fits the budget no other way:
    /// measured on Fashion-MNIST 10 000 (2-core CPU), the last layers at 64 px for 8 of 10 epochs scored 89.7 % where
    /// the classifier alone, which the budget left before, scored 88.3 % (both with the test-time flip).</summary>
    public const double FewestEpochsShare = 0.5;

    /// <summary>The facts Auto decides from; <see cref="BudgetSeconds"/> is the whole run's.</summary>
    public sealed record Inputs(double ImagesPerClass, double? ProbeAccuracy, double ChanceAccuracy, bool OnGpu, int Epochs,
        double BudgetSeconds, IReadOnlyList<int> CandidateSides, int HeadSide);

    /// <summary>What a candidate costs on this device: seconds per epoch, and the seconds the run spends at its side
    /// after the epochs and besides them (the images read and the classifier solved again at a side that is not the
    /// classifier's, the test-time flip's passes over the validation images).</summary>
    public readonly record struct Cost(double SecondsPerEpoch, double SecondsAfter);

    /// <summary>Decides; <paramref name="cost"/> measures a strategy at a side (called only as needed, deepest
    /// strategy and largest side first); <paramref name="spentSeconds"/> is the run's time so far, read before each
    /// comparison so that the measuring counts too (none when null). Without <paramref name="cost"/> (a job that
    /// trains on other machines) nothing is timed: the deepest strategy the data calls for, at the largest candidate
    /// side.</summary>
    public static AutoDecision Decide(Inputs inputs, Func<FineTuneStrategy, int, Cost>? cost, Func<double>? spentSeconds = null)
    {
        double Spent() => spentSeconds?.Invoke() ?? 0;
        double Left() => inputs.BudgetSeconds - Spent();
        string Budget(double left) => $"the {Math.Max(left, 0):0} s left of the {inputs.BudgetSeconds:0} s budget ({inputs.BudgetSeconds - left:0} s spent)";
        double probe = inputs.ProbeAccuracy ?? 0, chance = inputs.ChanceAccuracy;
        double similarity = inputs.ProbeAccuracy is null ? 0 : Math.Clamp((probe - chance) / (1 - chance), 0, 1);
        bool similar = similarity >= SimilarityThreshold;
        var facts = (inputs.ProbeAccuracy is { } p ? $"converged head {p:P1} on validation vs chance {chance:P1}, similarity {similarity:0.00}; " : "") +
                    $"{inputs.ImagesPerClass:0.#} images per class; {(inputs.OnGpu ? "GPU" : "CPU")}";
        var timings = new List<AutoDecision.Timing>();
        AutoDecision Make(FineTuneStrategy strategy, int side, string why, int? epochs = null) =>
            new(strategy, side, inputs.ImagesPerClass, probe, chance, similarity, inputs.OnGpu, epochs ?? inputs.Epochs, inputs.BudgetSeconds,
                Spent(), timings, $"{why} ({facts})");

        if (inputs.ProbeAccuracy is null)
            return Make(FineTuneStrategy.HeadOnly, inputs.HeadSide, "head only: no validation split to check a deeper model against");
        if (inputs.ImagesPerClass < MinimumImagesPerClass)
            return Make(FineTuneStrategy.HeadOnly, inputs.HeadSide, $"head only: under {MinimumImagesPerClass} images per class, a deeper model's gain cannot be told from noise");
        if (probe >= SeparatedAccuracy)
            return Make(FineTuneStrategy.HeadOnly, inputs.HeadSide, $"head only: the pretrained features already separate the classes (≥ {SeparatedAccuracy:P0} on validation)");

        var deepest = similar ? FineTuneStrategy.WholeNetwork : FineTuneStrategy.RetrainAll;
        if (cost == null)
            return Make(deepest, inputs.CandidateSides[0], $"{deepest} at {inputs.CandidateSides[0]} px — {How(deepest)}; not timed here: the job runs on the machines it is launched on");
        var tried = new List<string>();
        foreach (var strategy in new[] { deepest, FineTuneStrategy.LastLayers })
            foreach (var side in inputs.CandidateSides)
            {
                var (seconds, after) = cost(strategy, side);
                timings.Add(new AutoDecision.Timing(strategy, side, seconds, after));
                double planned = seconds * inputs.Epochs + after, left = Left();
                if (planned <= left)
                {
                    var skipped = tried.Count == 0 ? "" : $"; over budget: {string.Join(", ", tried)}";
                    return Make(strategy, side, $"{strategy} at {side} px — {How(strategy)}: {Plan(inputs.Epochs, seconds, after)} ≤ {Budget(left)}{skipped}");
                }
                tried.Add($"{strategy} at {side} px {planned:0} s");
            }

        // nothing holds all its epochs (every candidate is measured by now): the one that keeps the most of them, the
        // deeper strategy and the larger side first among equals, if that is at least the share allowed
        int fewest = Math.Max(1, (int)Math.Ceiling(FewestEpochsShare * inputs.Epochs));
        double remaining = Left();
        var cut = timings.Select(t => (Timing: t, Epochs: EpochsWithin(remaining - t.SecondsAfter, t.SecondsPerEpoch, inputs.Epochs)))
            .DefaultIfEmpty().MaxBy(t => t.Epochs); // the first of the most: timings run deepest strategy and largest side first
        if (cut.Timing is { } best && cut.Epochs >= fewest)
            return Make(best.Strategy, best.ImageSize, $"{best.Strategy} at {best.ImageSize} px — {How(best.Strategy)}, cut to {cut.Epochs} of " +
                $"{inputs.Epochs} epochs to fit: {Plan(cut.Epochs, best.SecondsPerEpoch, best.SecondsAfter)} ≤ {Budget(remaining)}; " +
                $"over budget with all {inputs.Epochs}: {string.Join(", ", tried)}", cut.Epochs);
        return Make(FineTuneStrategy.HeadOnly, inputs.HeadSide,
            $"head only: no deeper strategy fits {Budget(remaining)}, not even with {fewest} of its {inputs.Epochs} epochs " +
            $"({string.Join(", ", tried)})");
    }

    /// <summary>"10 epochs × 30.4 s + 9 s after = 313 s": the epochs and what the run spends after them.</summary>
    static string Plan(int epochs, double secondsPerEpoch, double after) =>
        $"{epochs} epochs × {secondsPerEpoch:0.0} s + {after:0} s after = {epochs * secondsPerEpoch + after:0} s";

    /// <summary>Whole epochs of <paramref name="secondsPerEpoch"/> that fit <paramref name="budgetSeconds"/>, at most
    /// <paramref name="planned"/>.</summary>
    static int EpochsWithin(double budgetSeconds, double secondsPerEpoch, int planned) =>
        budgetSeconds <= 0 ? 0 : (int)Math.Min(planned, Math.Floor(budgetSeconds / secondsPerEpoch)); // a zero cost fitted in the first pass

    static string How(FineTuneStrategy strategy) => strategy switch
    {
        FineTuneStrategy.WholeNetwork => "the whole network at discriminative rates (the data resembles the pretraining data)",
        FineTuneStrategy.RetrainAll => "the whole network at one rate (the data differs from the pretraining data)",
        _ => "the last backbone group and the classifier (the whole network does not fit the budget)",
    };

    /// <summary>Image sides worth trying for the deeper strategies, largest first: the ladder below the weights' own
    /// side, no larger than four times the source images (upsampling further adds compute, not detail), no smaller
    /// than the architecture accepts.</summary>
    public static IReadOnlyList<int> CandidateSides(int nativeSide, int minimumSide, int? sourceSide)
    {
        int cap = nativeSide;
        if (sourceSide is { } source) cap = Math.Min(nativeSide, Math.Max(64, 16 * (int)Math.Ceiling(4.0 * source / 16)));
        var ladder = new[] { nativeSide, 192, 160, 128, 112, 96, 64 };
        return ladder.Where(s => s <= cap && s >= Math.Max(minimumSide, 32)).Distinct().OrderDescending().ToList();
    }
}

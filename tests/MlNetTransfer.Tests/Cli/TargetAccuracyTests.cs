using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>`evaluate --target-accuracy`: the minimum score whose answers are right at least the target share of the
/// time, shown with 95 % confidence by an exact binomial test over a sequence of thresholds fixed before the labels
/// are read — and on images like the labelled ones, a threshold below the one that truly reaches the target comes
/// back at most 5 % of the time.</summary>
public class TargetAccuracyTests
{
    [Theory]
    [InlineData(20, 17, 0.9)]
    [InlineData(59, 59, 0.95)]
    [InlineData(300, 280, 0.95)]
    [InlineData(7, 3, 0.5)]
    public void The_binomial_tail_is_the_sum_of_its_terms(int trials, int successes, double p)
    {
        double expected = 0;
        for (int k = successes; k <= trials; k++) expected += Choose(trials, k) * Math.Pow(p, k) * Math.Pow(1 - p, trials - k);

        Assert.Equal(expected, Binomial.UpperTail(trials, successes, p), expected * 1e-9);
    }

    [Fact]
    public void The_binomial_tail_holds_its_edges_and_stays_finite_for_a_hundred_thousand_trials()
    {
        Assert.Equal(1, Binomial.UpperTail(10, 0, 0.9));
        Assert.Equal(0, Binomial.UpperTail(10, 11, 0.9));
        Assert.Equal(Math.Pow(0.95, 59), Binomial.UpperTail(59, 59, 0.95), 1e-12); // all right: 0.0485, just under 5 %
        double near = Binomial.UpperTail(100_000, 95_300, 0.95), far = Binomial.UpperTail(100_000, 96_000, 0.95);
        Assert.InRange(near, 1e-6, 0.01); // 4.4 standard deviations above the mean
        Assert.InRange(far, 1e-300, 1e-50);
        Assert.True(far < near);
    }

    [Fact]
    public void The_lowest_threshold_that_passes_is_found_and_too_few_images_find_none()
    {
        // 1 000 images by falling score: the surest 600 right but for one in 100, the rest right 60 % of the time
        var scored = Enumerable.Range(0, 1000).Select(i =>
            Image(1 - i / 2000.0, right: i < 600 ? i % 100 != 50 : i % 5 < 3)).ToList();

        var found = TargetAccuracy.Find(scored, 0.95);
        var few = TargetAccuracy.Find(scored.Take(80).ToList(), 0.95); // 80 answers, one wrong: not shown (93 could be)

        Assert.NotNull(found.Found);
        Assert.Equal(93, TargetAccuracy.FirstCount(0.95, 0.05)); // 92 right of 93 shows 95 %: the one wrong at 50 does not end the search
        Assert.InRange(found.Found!.Answered, 600, 700); // the surest 600 pass, and a few of the rest ride on them
        Assert.True(found.Found.Accuracy >= 0.95);
        Assert.True(found.PValue <= 0.05);
        Assert.StartsWith("for answers at least 95.0 % right (95 % confidence): --min-score 0.", found.Describe());
        Assert.Null(few.Found);
        Assert.Null(TargetAccuracy.Find(scored, 0.999999).Found); // would need millions of answers: none, and at once
        Assert.Equal("for answers at least 95.0 % right (95 % confidence): no minimum score shows it on these 80 images — more labelled images, or a lower target", few.Describe());
    }

    [Fact]
    public void An_image_the_model_calls_unfamiliar_is_not_among_the_answers_however_sure()
    {
        var scored = Enumerable.Range(0, 200).Select(i => Image(1 - i / 400.0, right: i >= 20) with { Unfamiliar = i < 20 }).ToList();

        var found = TargetAccuracy.Find(scored, 0.95);

        Assert.Equal(180, found.Found!.Answered); // the 20 surest, all wrong, are left to a person
        Assert.Equal(1.0, found.Found.Accuracy);
        Assert.Equal(20, found.Found.HeldUnfamiliar);
    }

    [Fact]
    public void On_images_like_the_labelled_ones_the_threshold_falls_short_of_the_target_at_most_one_time_in_twenty()
    {
        // calibrated scores uniform on [0.5, 1]: an image of score s is right with probability s, so the answers at
        // threshold t are right (1 + t) / 2 of the time, and 0.8 is the lowest threshold truly reaching 90 %
        var random = new Random(7);
        int draws = 300, short_ = 0;
        var thresholds = new List<double>();
        for (int draw = 0; draw < draws; draw++)
        {
            var scored = Enumerable.Range(0, 1000).Select(_ => { double s = 0.5 + 0.5 * random.NextDouble(); return Image(s, random.NextDouble() < s); }).ToList();
            var found = TargetAccuracy.Find(scored, 0.9);
            if (found.Found is not { } f) continue;
            thresholds.Add(f.MinScore);
            if (f.MinScore < 0.8) short_++;
        }

        Assert.InRange(short_, 0, 0.05 * draws + 2 * Math.Sqrt(0.05 * 0.95 * draws)); // ≤ 5 %, with the draws' noise
        Assert.True(thresholds.Count > 0.8 * draws, $"found in {thresholds.Count} of {draws} draws"); // 1 000 images are enough
        Assert.InRange(thresholds.Average(), 0.8, 0.92); // not needlessly strict
    }

    /// <summary>Two classes; the top score <paramref name="top"/>, on the true class when <paramref name="right"/>.</summary>
    static ScoredImage Image(double top, bool right)
    {
        float[] scores = right ? [(float)top, (float)(1 - top)] : [(float)(1 - top), (float)top];
        return new ScoredImage($"{top}.png", 0, scores);
    }

    static double Choose(int n, int k)
    {
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }
}

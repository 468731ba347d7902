using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>What answering only when sure gets: at a minimum top score, how many images are answered, how many of those
/// are right, and what the model had right among those left to a person; the same for the surest shares.</summary>
public class SureAnswersTests
{
    /// <summary>Two classes; the image's top score is <paramref name="top"/>, on its true class when <paramref name="right"/>.</summary>
    static ScoredImage Image(double top, bool right, int truth = 0)
    {
        var scores = new float[2];
        scores[right ? truth : 1 - truth] = (float)top;
        scores[right ? 1 - truth : truth] = (float)(1 - top);
        return new ScoredImage($"{top}-{right}.png", truth, scores);
    }

    static readonly ScoredImage[] Ten =
    [
        Image(0.99, true), Image(0.97, true), Image(0.95, true), Image(0.93, false), Image(0.9, true),
        Image(0.85, true), Image(0.8, false), Image(0.7, true), Image(0.6, false), Image(0.55, false),
    ];

    [Fact]
    public void At_a_minimum_score_the_images_reaching_it_are_answered_and_those_below_left_to_a_person()
    {
        var sure = SureAnswers.At(Ten, 0.9);

        Assert.Equal(5, sure.Answered); // 0.9 itself is answered
        Assert.Equal(4, sure.Right);
        Assert.Equal(0.5, sure.Coverage);
        Assert.Equal(0.8, sure.Accuracy);
        Assert.Equal(0.4, sure.RestAccuracy!.Value, 12); // 0.85 and 0.7 right of the five left
        Assert.Equal("Score ≥ 0.9: 5 of 10 images answered (50 %), 80.0 % right; of the 5 left to a person it had 40.0 % right", sure.Describe());
    }

    [Fact]
    public void A_threshold_no_image_reaches_answers_none_and_one_every_image_reaches_leaves_none_to_a_person()
    {
        var none = SureAnswers.At(Ten, 0.995);
        var all = SureAnswers.At(Ten, 0);

        Assert.Equal(0, none.Answered);
        Assert.Null(none.Accuracy);
        Assert.Equal(0.6, none.RestAccuracy!.Value, 12); // the model's accuracy on all ten
        Assert.StartsWith("Score ≥ 0.995: none of the 10 images answered", none.Describe());
        Assert.Equal(10, all.Answered);
        Assert.Null(all.RestAccuracy);
        Assert.Equal(0.6, all.Accuracy!.Value, 12);
    }

    [Fact]
    public void An_image_the_model_calls_unfamiliar_is_left_to_a_person_however_sure_its_score()
    {
        // the 0.99 and 0.93 images flagged (one right, one wrong), the 0.6 one too (below the score anyway)
        var flagged = new HashSet<int> { 0, 3, 8 };
        var scored = Ten.Select((image, i) => image with { Unfamiliar = flagged.Contains(i) }).ToList();

        var sure = SureAnswers.At(scored, 0.9);
        var surest = SureAnswers.Surest(scored, 0.5);

        Assert.Equal(3, sure.Answered); // 0.97, 0.95, 0.9
        Assert.Equal(3, sure.Right);
        Assert.Equal(2, sure.HeldUnfamiliar); // the sure ones flagged; the 0.6 one was not sure
        Assert.Equal(3.0 / 7, sure.RestAccuracy!.Value, 12); // 0.99, 0.85 and 0.7 right of the seven left
        Assert.Equal("Score ≥ 0.9: 3 of 10 images answered (30 %), 100.0 % right; of the 7 left to a person (2 of them sure but unfamiliar) it had 42.9 % right", sure.Describe());
        Assert.Equal(scored.Count(s => SureAnswers.IsAnswered(s.Scores, s.Unfamiliar, 0.9)), sure.Answered);
        // the surest half of the images, among those not flagged: down to 0.8
        Assert.Equal((float)0.8, (float)surest.MinScore);
        Assert.Equal(5, surest.Answered);
        Assert.Equal(0, SureAnswers.Surest(Ten.Select(image => image with { Unfamiliar = true }).ToList(), 0.5).Answered);
    }

    [Fact]
    public void The_surest_share_answers_that_many_images_and_those_tied_with_the_last_of_them()
    {
        var half = SureAnswers.Surest(Ten, 0.5);
        var tied = SureAnswers.Surest([Image(0.9, true), Image(0.8, true), Image(0.8, false), Image(0.6, false)], 0.5);

        Assert.Equal((float)0.9, (float)half.MinScore);
        Assert.Equal(5, half.Answered);
        Assert.Equal(3, tied.Answered); // the second 0.8 ties with the last of the surest half
        Assert.Equal(1, SureAnswers.Surest(Ten, 0.01).Answered); // at least one
    }

    [Fact]
    public void The_report_answers_at_every_threshold_with_fewer_images_the_higher_it_is()
    {
        var report = ClassificationReport.Compute(["A", "B"], Ten);

        Assert.Equal(SureAnswers.Thresholds, report.SureByScore.Select(s => s.MinScore));
        Assert.Equal([10, 8, 7, 5, 3, 1], report.SureByScore.Select(s => s.Answered));
        Assert.Equal(SureAnswers.At(Ten, 0.9), report.SureAtDefault);
        Assert.Equal([5, 8, 9], report.SureByShare.Select(s => s.Answered));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void A_minimum_score_outside_zero_to_one_is_a_bad_option_value_naming_the_option(double value)
    {
        var e = Assert.Throws<CliException>(() => MinScoreOption.Check(value));

        Assert.Equal(ExitCodes.BadOption, e.ExitCode);
        Assert.StartsWith("--min-score: must be a score from 0 to 1", e.Message);
    }
}

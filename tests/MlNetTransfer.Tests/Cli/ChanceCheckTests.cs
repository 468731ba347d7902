using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Tests;

/// <summary>A model no better than always answering the test set's most frequent class is said to be so, in the
/// report, with that baseline; one clearly better is not.</summary>
public class ChanceCheckTests
{
    /// <summary>A test set of 60 "A", 20 "B" and 20 "C" images of which the model gets <paramref name="right"/> right:
    /// it answers "A" for every image, then the right class for the first B and C images up to that count.</summary>
    static ClassificationReport Report(int right)
    {
        var scored = new List<ScoredImage>();
        for (int i = 0; i < 60; i++) scored.Add(new ScoredImage($"a{i}.png", 0, [0.5f, 0.3f, 0.2f]));
        int extra = right - 60;
        for (int i = 0; i < 40; i++)
        {
            int truth = i < 20 ? 1 : 2;
            scored.Add(new ScoredImage($"x{i}.png", truth, i < extra ? (truth == 1 ? [0.2f, 0.7f, 0.1f] : [0.2f, 0.1f, 0.7f]) : [0.5f, 0.3f, 0.2f]));
        }
        return ClassificationReport.Compute(["A", "B", "C"], scored);
    }

    [Theory]
    [InlineData(60, true)]  // always "A": the baseline itself
    [InlineData(69, true)]  // 9 points above it on 100 images: within two standard errors (9.8 points)
    [InlineData(75, false)] // 15 points above: better than guessing
    public void Accuracy_within_two_standard_errors_of_the_most_frequent_class_is_no_better_than_guessing(int right, bool guessing)
    {
        var check = ChanceCheck.Of(Report(right));

        Assert.Equal("A", check.MostFrequentClass);
        Assert.Equal(0.6, check.BaselineAccuracy, 9);
        Assert.Equal(100, check.Images);
        Assert.Equal(guessing, check.NoBetterThanGuessing);
    }

    [Fact]
    public void The_report_page_warns_only_when_the_model_is_no_better_than_guessing()
    {
        var run = new RunRecord("tiny", "scratch", FineTuneStrategy.HeadOnly, "named", 32, "cpu", false, null, null,
            FlipDecision.NotMeasured("not measured"), Calibration.None, new TrainingResult([], 1, false, false, "head"));

        var guessed = HtmlReport.Render(new TrainingReport(Report(60), "test", run, 3, [], 1, 1), [], [], null, "/");
        var learnt = HtmlReport.Render(new TrainingReport(Report(90), "test", run, 3, [], 1, 1), [], [], null, "/");

        Assert.Contains("No better than guessing:", guessed);
        Assert.Contains("60.0 % for always answering &#39;A&#39; (100 test images)", guessed);
        Assert.DoesNotContain("No better than guessing", learnt);
    }
}

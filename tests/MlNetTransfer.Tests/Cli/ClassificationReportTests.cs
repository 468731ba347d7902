using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>The numbers `train` and `evaluate` report from the scores: top-5 accuracy where there are more than five
/// classes to rank.</summary>
public class ClassificationReportTests
{
    /// <summary>Probabilities over <paramref name="classes"/> classes, all different, with the true class at position
    /// <paramref name="rankOfTruth"/> from the most probable (0).</summary>
    static ScoredImage Ranked(int classes, int truth, int rankOfTruth)
    {
        var others = Enumerable.Range(0, classes).Where(c => c != truth).ToList();
        var scores = new float[classes];
        for (int position = 0, o = 0; position < classes; position++)
        {
            int c = position == rankOfTruth ? truth : others[o++];
            scores[c] = (classes - position) / (float)(classes * (classes + 1) / 2);
        }
        return new ScoredImage($"{truth}-{rankOfTruth}.png", truth, scores);
    }

    [Fact]
    public void Top_five_accuracy_counts_the_images_whose_class_is_among_the_five_most_probable()
    {
        var classes = Enumerable.Range(0, 8).Select(c => $"class {c}").ToList();
        var scored = new[] { Ranked(8, 0, 0), Ranked(8, 1, 4), Ranked(8, 2, 5), Ranked(8, 3, 7) }; // ranks 1, 5, 6 and 8

        var report = ClassificationReport.Compute(classes, scored);

        Assert.Equal(0.5, report.TopKAccuracy);
        Assert.Equal(0.25, report.MicroAccuracy);
    }

    [Fact]
    public void With_five_classes_or_fewer_there_is_no_top_five_accuracy_to_report()
    {
        var report = ClassificationReport.Compute(["A", "B", "C", "D", "E"], [Ranked(5, 0, 4), Ranked(5, 1, 0)]);

        Assert.Null(report.TopKAccuracy);
    }

    [Fact]
    public void A_tie_with_the_fifth_class_does_not_count_against_the_image()
    {
        var scores = new float[] { 0.3f, 0.2f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f }; // class 6 ties ranks 3 to 7
        var report = ClassificationReport.Compute(Enumerable.Range(0, 7).Select(c => $"{c}").ToList(), [new ScoredImage("tie.png", 6, scores)]);

        Assert.Equal(1.0, report.TopKAccuracy); // only two classes score above it
    }
}

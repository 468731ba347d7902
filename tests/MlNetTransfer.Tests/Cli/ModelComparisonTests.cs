using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>`evaluate --against`: two models paired image by image — McNemar's exact test on the images one gets right
/// and the other wrong, the log-loss difference with a seeded paired-bootstrap interval — on the images both scored,
/// each model in its own class order.</summary>
public class ModelComparisonTests
{
    static readonly string[] Abc = ["a", "b", "c"];

    /// <summary>A scored image of class <paramref name="truth"/> predicted as <paramref name="predicted"/> with
    /// <paramref name="top"/> of the mass, the rest spread evenly.</summary>
    static ScoredImage Image(string file, int truth, int predicted, float top = 0.8f, int classes = 3)
    {
        var scores = Enumerable.Repeat((1 - top) / (classes - 1), classes).ToArray();
        scores[predicted] = top;
        return new ScoredImage(file, truth, scores);
    }

    [Theory]
    [InlineData(10, 2, 158.0 / 4096)] // 2 · P(X ≥ 10), X ~ Binomial(12, ½) = 2 · (66 + 12 + 1) / 4096
    [InlineData(2, 10, 158.0 / 4096)]
    [InlineData(5, 5, 1.0)]
    [InlineData(0, 0, 1.0)]
    [InlineData(0, 7, 2.0 / 128)]
    public void McNemars_exact_test_is_twice_the_binomial_tail_of_the_larger_count(int fixedCount, int broken, double expected) =>
        Assert.Equal(expected, ModelComparison.McNemar(fixedCount, broken), 1e-12);

    [Fact]
    public void Images_are_paired_by_file_and_class_name_whatever_each_model_numbers_its_classes()
    {
        // the other model orders its classes c, a, b: its class 1 is "a"
        string[] cab = ["c", "a", "b"];
        var ours = new[] { Image("1.png", 0, 0), Image("2.png", 1, 1), Image("3.png", 2, 0), Image("4.png", 0, 0), Image("only-ours.png", 0, 0) };
        var theirs = new[] { Image("4.png", 1, 1), Image("3.png", 0, 0), Image("2.png", 2, 0), Image("1.png", 1, 2), Image("only-theirs.png", 0, 0) };

        var c = ModelComparison.Of(ours, Abc, theirs, cab);

        // 1: ours right, theirs wrong (fixed); 2: ours right, theirs wrong (fixed); 3: ours wrong, theirs right (broken); 4: both right
        Assert.Equal((4, 2, 1, 2), (c.Images, c.Fixed, c.Broken, c.LeftOut));
        Assert.Equal((0.75, 0.5), (c.Accuracy, c.AgainstAccuracy));
        Assert.Equal(ModelComparison.McNemar(2, 1), c.PValue);
        Assert.Equal(ours.Take(4).Average(i => i.Loss), c.LogLoss, 1e-12);
        Assert.Equal(theirs.Take(4).Average(i => i.Loss), c.AgainstLogLoss, 1e-12);

        var mislabelled = new[] { Image("1.png", 0, 0) }; // "a" for one, "b" (their class 2) for the other
        var error = Assert.Throws<ArgumentException>(() => ModelComparison.Of(mislabelled, Abc, [Image("1.png", 2, 2)], cab));
        Assert.Contains("1.png is of class a for one model and b for the other", error.Message);
        Assert.Throws<ArgumentException>(() => ModelComparison.Of(mislabelled, Abc, [Image("2.png", 0, 0)], Abc));
    }

    [Fact]
    public void A_model_against_itself_differs_in_nothing()
    {
        var images = Enumerable.Range(0, 50).Select(i => Image($"{i}.png", i % 3, i % 5 == 0 ? (i + 1) % 3 : i % 3, 0.5f + i / 200f)).ToList();

        var c = ModelComparison.Of(images, Abc, images, Abc);

        Assert.Equal((0, 0, 1.0, 0.0, 0.0), (c.Fixed, c.Broken, c.PValue, c.LogLossDifferenceLow, c.LogLossDifferenceHigh));
        Assert.False(c.AccuracyDiffers);
        Assert.False(c.LogLossDiffers);
        Assert.Contains("within chance: these images do not show either model more accurate", c.Describe("old.zip"));
        Assert.Contains("neither lower beyond chance", c.Describe("old.zip"));
    }

    [Fact]
    public void A_model_right_on_many_more_images_is_more_accurate_beyond_chance_and_its_lower_loss_shows_in_the_interval()
    {
        // 100 images: ours right on all, sure at 0.9; theirs wrong on 30 of them and less sure on the rest
        var ours = Enumerable.Range(0, 100).Select(i => Image($"{i}.png", i % 3, i % 3, 0.9f)).ToList();
        var theirs = Enumerable.Range(0, 100).Select(i => Image($"{i}.png", i % 3, i < 30 ? (i + 1) % 3 : i % 3, 0.6f)).ToList();

        var c = ModelComparison.Of(ours, Abc, theirs, Abc);
        var again = ModelComparison.Of(ours, Abc, theirs, Abc);

        Assert.Equal((30, 0), (c.Fixed, c.Broken));
        Assert.True(c.PValue < 1e-8, $"p = {c.PValue}");
        Assert.True(c.AccuracyDiffers);
        double difference = c.LogLoss - c.AgainstLogLoss;
        Assert.InRange(difference, c.LogLossDifferenceLow, c.LogLossDifferenceHigh);
        Assert.True(c.LogLossDifferenceHigh < 0 && c.LogLossDiffers, $"{c.LogLossDifferenceLow} to {c.LogLossDifferenceHigh}");
        Assert.Equal((c.LogLossDifferenceLow, c.LogLossDifferenceHigh), (again.LogLossDifferenceLow, again.LogLossDifferenceHigh)); // seeded
        Assert.Contains("more accurate than it, beyond chance", c.Describe("old.zip"));
        Assert.Contains("lower, beyond chance", c.Describe("old.zip"));
        Assert.Contains("less accurate than it, beyond chance", ModelComparison.Of(theirs, Abc, ours, Abc).Describe("new.zip"));
    }

    [Fact]
    public void A_few_disagreements_one_way_are_within_chance()
    {
        // 3 fixed, 0 broken of 40: p = 2 / 8 = 0.25
        var ours = Enumerable.Range(0, 40).Select(i => Image($"{i}.png", 0, 0)).ToList();
        var theirs = Enumerable.Range(0, 40).Select(i => Image($"{i}.png", 0, i < 3 ? 1 : 0)).ToList();

        var c = ModelComparison.Of(ours, Abc, theirs, Abc);

        Assert.Equal(0.25, c.PValue, 1e-12);
        Assert.False(c.AccuracyDiffers);
        Assert.Contains("of the 3 only one of them gets right, this model gets 3 and the other 0 (McNemar's exact test p = 0.25): within chance", c.Describe("old.zip"));
    }
}

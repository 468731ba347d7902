using MlNetTransfer.Engine.Strategies;

namespace MlNetTransfer.Tests;

/// <summary>Auto: the deepest strategy, at the largest image side, whose measured epochs (and what the run spends after
/// them) fit what is left of the time budget; the classifier alone when it already separates the classes or a deeper
/// model cannot be judged.</summary>
public class AutoStrategyTests
{
    static readonly int[] Sides = [112, 96, 64];

    /// <summary>Seconds per epoch that grow with the pixels and the trainable depth, <paramref name="after"/> seconds
    /// after the epochs at any side, and a record of what was asked.</summary>
    sealed class FakeDevice(double wholeAt64 = 10, double after = 0)
    {
        public List<(FineTuneStrategy Strategy, int Side)> Asked { get; } = [];

        public AutoStrategy.Cost Seconds(FineTuneStrategy strategy, int side)
        {
            Asked.Add((strategy, side));
            double depth = strategy == FineTuneStrategy.LastLayers ? 0.3 : 1;
            return new(wholeAt64 * depth * side * side / (64.0 * 64), after);
        }
    }

    static AutoStrategy.Inputs Inputs(double probe = 0.85, double imagesPerClass = 200, double budget = 300, int epochs = 10) =>
        new(imagesPerClass, probe, ChanceAccuracy: 0.1, OnGpu: false, epochs, budget, Sides, HeadSide: 224);

    [Fact]
    public void Picks_the_whole_network_at_the_largest_side_that_fits_the_budget_and_measures_no_more()
    {
        var device = new FakeDevice(); // whole network: 112 px 30.6 s, 96 px 22.5 s, 64 px 10 s an epoch

        var decision = AutoStrategy.Decide(Inputs(budget: 300), device.Seconds);

        Assert.Equal((FineTuneStrategy.WholeNetwork, 96), (decision.Strategy, decision.ImageSize));
        Assert.Equal([(FineTuneStrategy.WholeNetwork, 112), (FineTuneStrategy.WholeNetwork, 96)], device.Asked);
        Assert.Equal(2, decision.Timings.Count);
        Assert.Contains("10 epochs × 22.5 s + 0 s after = 225 s ≤ the 300 s left of the 300 s budget (0 s spent)", decision.Reason);
        Assert.Contains("WholeNetwork at 112 px 306 s", decision.Reason); // what did not fit, with its number
        Assert.Contains("converged head 85.0 %", decision.Reason);
    }

    [Fact]
    public void For_a_job_that_trains_elsewhere_nothing_is_timed_and_the_data_alone_decides()
    {
        var similar = AutoStrategy.Decide(Inputs(budget: 1), null);
        var unlike = AutoStrategy.Decide(Inputs(probe: 0.3, budget: 1), null);
        var few = AutoStrategy.Decide(Inputs(imagesPerClass: 5), null);

        Assert.Equal((FineTuneStrategy.WholeNetwork, 112), (similar.Strategy, similar.ImageSize)); // the largest side, whatever the budget
        Assert.Empty(similar.Timings);
        Assert.Contains("not timed here", similar.Reason);
        Assert.Equal(FineTuneStrategy.RetrainAll, unlike.Strategy);
        Assert.Equal(FineTuneStrategy.HeadOnly, few.Strategy);
    }

    [Fact]
    public void Data_unlike_the_pretraining_data_retrains_everything_at_one_rate()
    {
        var decision = AutoStrategy.Decide(Inputs(probe: 0.3), new FakeDevice().Seconds);

        Assert.Equal(FineTuneStrategy.RetrainAll, decision.Strategy);
        Assert.True(decision.Similarity < AutoStrategy.SimilarityThreshold);
    }

    [Fact]
    public void Falls_back_to_the_last_layers_then_to_fewer_epochs_then_to_the_head_as_the_budget_shrinks()
    {
        var lastLayers = AutoStrategy.Decide(Inputs(budget: 50), new FakeDevice().Seconds); // whole at 64 px: 100 s; last layers at 96: 67 s, at 64: 30 s
        var cut = AutoStrategy.Decide(Inputs(budget: 20), new FakeDevice().Seconds);
        var headOnly = AutoStrategy.Decide(Inputs(budget: 14), new FakeDevice().Seconds); // 4 of 10 epochs: under half

        Assert.Equal((FineTuneStrategy.LastLayers, 64, 10), (lastLayers.Strategy, lastLayers.ImageSize, lastLayers.Epochs));
        Assert.Equal((FineTuneStrategy.LastLayers, 64, 6), (cut.Strategy, cut.ImageSize, cut.Epochs));
        Assert.Equal((FineTuneStrategy.HeadOnly, 224), (headOnly.Strategy, headOnly.ImageSize));
        Assert.Contains("no deeper strategy fits the 14 s left of the 14 s budget (0 s spent), not even with 5 of its 10 epochs", headOnly.Reason);
        Assert.Equal(6, headOnly.Timings.Count);
    }

    [Fact]
    public void When_no_strategy_fits_all_its_epochs_the_one_keeping_most_of_them_is_cut_to_what_fits()
    {
        // whole network 30.6 / 22.5 / 10 s an epoch at 112 / 96 / 64 px, last layers 9.2 / 6.75 / 3 s: within 25 s
        // they keep 0, 1, 2, 2, 3 and 8 of their 10 epochs
        var device = new FakeDevice();

        var decision = AutoStrategy.Decide(Inputs(budget: 25), device.Seconds);

        Assert.Equal((FineTuneStrategy.LastLayers, 64, 8), (decision.Strategy, decision.ImageSize, decision.Epochs));
        Assert.Equal(6, device.Asked.Count); // every candidate measured once, none again for the cut
        Assert.Contains("cut to 8 of 10 epochs to fit: 8 epochs × 3.0 s + 0 s after = 24 s ≤ the 25 s left of the 25 s budget", decision.Reason);
        Assert.Contains("over budget with all 10: WholeNetwork at 112 px 306 s", decision.Reason);

        // among candidates keeping as many epochs, the deeper strategy at the larger side
        var even = AutoStrategy.Decide(Inputs(budget: 70), (_, _) => new(10, 0));
        Assert.Equal((FineTuneStrategy.WholeNetwork, 112, 7), (even.Strategy, even.ImageSize, even.Epochs));
    }

    [Fact]
    public void The_budget_is_the_whole_runs_what_was_spent_before_and_what_follows_the_epochs_count_against_it()
    {
        // whole network 30.6 / 22.5 / 10 s an epoch at 112 / 96 / 64 px: 300 s holds 96 px's 225 s alone (the test above)
        var spentBefore = AutoStrategy.Decide(Inputs(budget: 300), new FakeDevice().Seconds, () => 100);
        var after = AutoStrategy.Decide(Inputs(budget: 300), new FakeDevice(after: 80).Seconds);
        var spentAll = AutoStrategy.Decide(Inputs(budget: 300), new FakeDevice().Seconds, () => 320);

        Assert.Equal((FineTuneStrategy.WholeNetwork, 64, 10), (spentBefore.Strategy, spentBefore.ImageSize, spentBefore.Epochs));
        Assert.Contains("10 epochs × 10.0 s + 0 s after = 100 s ≤ the 200 s left of the 300 s budget (100 s spent)", spentBefore.Reason);
        Assert.Equal(100, spentBefore.SpentSeconds);
        Assert.Equal((FineTuneStrategy.WholeNetwork, 64), (after.Strategy, after.ImageSize)); // 96 px: 225 + 80 s > 300
        Assert.Contains("WholeNetwork at 96 px 305 s", after.Reason);
        Assert.All(after.Timings, t => Assert.Equal(80, t.SecondsAfter));
        Assert.Equal(FineTuneStrategy.HeadOnly, spentAll.Strategy); // the features alone took the budget
        Assert.Contains("no deeper strategy fits the 0 s left of the 300 s budget (320 s spent)", spentAll.Reason);
    }

    [Fact]
    public void Auto_reads_the_runs_clock_after_each_measurement_so_its_own_timing_counts()
    {
        double clock = 0;
        var device = new FakeDevice();
        // each measurement takes 60 s: after 112 px (306 s) 240 s are left, and 96 px's 225 s no longer fit in the 180 s left after it
        var decision = AutoStrategy.Decide(Inputs(budget: 300), (strategy, side) => { clock += 60; return device.Seconds(strategy, side); }, () => clock);

        Assert.Equal((FineTuneStrategy.WholeNetwork, 64), (decision.Strategy, decision.ImageSize));
        Assert.Contains("≤ the 120 s left of the 300 s budget (180 s spent)", decision.Reason);
    }

    [Theory]
    [InlineData(0.995, 200, "already separate the classes")]
    [InlineData(0.85, 6, "under 10 images per class")]
    public void Keeps_the_head_alone_when_deeper_layers_cannot_pay_off_or_be_judged(double probe, double imagesPerClass, string why)
    {
        var device = new FakeDevice();

        var decision = AutoStrategy.Decide(Inputs(probe, imagesPerClass), device.Seconds);

        Assert.Equal(FineTuneStrategy.HeadOnly, decision.Strategy);
        Assert.Contains(why, decision.Reason);
        Assert.Empty(device.Asked); // nothing measured that is not needed
    }

    [Fact]
    public void Without_a_validation_split_the_head_alone_is_trained()
    {
        var decision = AutoStrategy.Decide(Inputs() with { ProbeAccuracy = null }, new FakeDevice().Seconds);

        Assert.Equal(FineTuneStrategy.HeadOnly, decision.Strategy);
        Assert.Contains("no validation split", decision.Reason);
    }

    [Theory]
    [InlineData(28, 32, new[] { 112, 96, 64 })]                          // Fashion-MNIST: no more than 4× the source
    [InlineData(48, 32, new[] { 192, 160, 128, 112, 96, 64 })]
    [InlineData(640, 32, new[] { 224, 192, 160, 128, 112, 96, 64 })]     // photos: from the weights' own side down
    [InlineData(640, 63, new[] { 224, 192, 160, 128, 112, 96, 64 })]
    [InlineData(16, 63, new[] { 64 })]                                   // never under the architecture's minimum
    public void Candidate_sides_follow_the_source_images_and_the_architecture(int source, int minimum, int[] expected)
    {
        Assert.Equal(expected, AutoStrategy.CandidateSides(224, minimum, source));
    }
}

using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The training loop's parts: the split, the schedules, augmentation.</summary>
public class TrainingPartsTests
{
    public TrainingPartsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Stratified_split_keeps_class_shares_and_is_reproducible()
    {
        var labels = Enumerable.Repeat(0L, 50).Concat(Enumerable.Repeat(1L, 10)).Concat(Enumerable.Repeat(2L, 2)).ToArray();

        var (train, validation) = StratifiedSplit.Split(labels, 0.2, seed: 4);

        Assert.Equal(10, validation.Count(i => labels[i] == 0));
        Assert.Equal(2, validation.Count(i => labels[i] == 1));
        Assert.Equal(1, validation.Count(i => labels[i] == 2)); // a class of two still lands on both sides
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(labels.Length, train.Count + validation.Count);
        Assert.Equal(validation, StratifiedSplit.Split(labels, 0.2, seed: 4).Validation);
        Assert.NotEqual(validation, StratifiedSplit.Split(labels, 0.2, seed: 5).Validation);
    }

    [Fact]
    public void One_cycle_warms_up_to_the_base_rate_then_anneals_far_below_it()
    {
        const long steps = 101;
        var schedule = LearningRateSchedule.OneCycle;

        Assert.Equal(1 / 25.0, schedule.Factor(0, steps), 9);
        Assert.Equal(1.0, schedule.Factor(25, steps), 9);
        Assert.Equal(1 / 25.0 / 1e4, schedule.Factor(100, steps), 12);
        Assert.True(schedule.Factor(10, steps) < schedule.Factor(20, steps));
        Assert.True(schedule.Factor(60, steps) > schedule.Factor(90, steps));
    }

    [Fact]
    public void Cosine_goes_from_one_to_zero_and_constant_stays_at_one()
    {
        Assert.Equal(1.0, LearningRateSchedule.Cosine.Factor(0, 11), 9);
        Assert.Equal(0.5, LearningRateSchedule.Cosine.Factor(5, 11), 9);
        Assert.Equal(0.0, LearningRateSchedule.Cosine.Factor(10, 11), 9);
        Assert.Equal(1.0, LearningRateSchedule.Constant.Factor(7, 11));
    }

    [Fact]
    public void Augmenter_keeps_the_shape_changes_the_pixels_and_repeats_for_a_seed()
    {
        var batch = HeldScalars.Range(0, 2 * 3 * 8 * 8, 1, ScalarType.Float32).view(2, 3, 8, 8);

        var a = new Augmenter(seed: 11).Apply(batch);
        var b = new Augmenter(seed: 11).Apply(batch);

        Assert.Equal(batch.shape, a.shape);
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
        Assert.False(a.allclose(batch));
    }

    [Fact]
    public void Balanced_class_weights_make_rare_classes_count_as_much()
    {
        var weights = ClassWeights.Balanced([30, 10, 20]);

        Assert.Equal(new[] { 60.0 / 90, 60.0 / 30, 60.0 / 60 }, weights.Select(w => (double)w), (IEqualityComparer<double>)new Tolerance(1e-6));
    }

    [Fact]
    public void An_imbalance_of_5_to_1_or_more_is_said_with_the_largest_and_smallest_class()
    {
        var note = ClassWeights.ImbalanceNote([20, 3, 10, 0], ["a", "b", "c", "d"]); // d has no image: not a class to weigh

        Assert.StartsWith("classes are imbalanced: a has 20 training images, b 3;", note);
        Assert.Contains("--balance-classes, BalanceClasses", note);
        Assert.Null(ClassWeights.ImbalanceNote([20, 5, 10], ["a", "b", "c"])); // 4 to 1
        Assert.Null(ClassWeights.ImbalanceNote([7], ["a"]));
    }
}

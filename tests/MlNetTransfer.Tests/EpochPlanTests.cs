using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static MlNetTransfer.Tests.TinyModels;

namespace MlNetTransfer.Tests;

/// <summary>Epochs left unset are planned from the training set: 10, or on a small set enough for the minimum number
/// of steps (at most 30); the run trains exactly that many, its checkpoint keeps them, and a resumed run ends where
/// the uninterrupted one did.</summary>
[Collection(TorchRandomCollection.Name)]
public class EpochPlanTests
{
    public EpochPlanTests() => TorchRuntime.EnsureLoaded();

    static FineTuneOptions Options(Action<FineTuneOptions>? change = null)
    {
        var options = new FineTuneOptions { Epochs = 4, BatchSize = 16, LearningRate = 0.02, Seed = 3, EarlyStoppingPatience = 0, TrainBatchNormStatistics = true, Augment = true };
        change?.Invoke(options);
        return options;
    }

    [Theory]
    [InlineData(250, 10)] // 10 000 images with a validation fifth, batch 32: the default 10 already give 2 500 steps
    [InlineData(75, 10)]  // exactly 750 steps in 10 epochs
    [InlineData(74, 11)]
    [InlineData(50, 15)]  // 2 000 images (1 600 train) in batches of 32
    [InlineData(40, 19)]  // 18.75 rounded up: never fewer steps than the minimum
    [InlineData(10, 30)]  // 400 images: 75 epochs would be needed, 30 at the most
    [InlineData(1, 30)]
    public void Epochs_give_a_small_set_the_minimum_steps_within_ten_to_thirty(int stepsPerEpoch, int expected)
    {
        Assert.Equal(expected, EpochPlan.For(stepsPerEpoch));
        Assert.True(expected * stepsPerEpoch >= EpochPlan.MinimumSteps || expected == EpochPlan.MaximumEpochs);
    }

    [Fact]
    public void Steps_an_epoch_count_the_last_partial_batch()
    {
        Assert.Equal(50, EpochPlan.StepsPerEpoch(1_600, 32));
        Assert.Equal(51, EpochPlan.StepsPerEpoch(1_601, 32));
        Assert.Equal(1, EpochPlan.StepsPerEpoch(3, 32));
    }

    [Fact]
    public void Without_epochs_a_run_trains_the_planned_ones_and_its_checkpoint_keeps_them()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20); // 48 training images in batches of 16: 3 steps, 30 epochs
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll);
        var log = new List<string>();
        using var unset = NewModel();
        var planned = FineTuner.Fit(unset, plan, Plain, data, null, Options(o => o.Epochs = null), new TrainingContext { Log = log.Add });
        using var given = NewModel();
        FineTuner.Fit(given, plan, Plain, data, null, Options(o => o.Epochs = 30));

        Assert.Equal(30, planned.History.Count);
        Assert.Contains(log, line => line.StartsWith("30 epochs (3 steps an epoch"));
        var (a, b) = (Weights(unset), Weights(given));
        Assert.All(a.Keys, k => Assert.True(a[k].equal(b[k]).all().item<bool>(), $"{k} differs from the run given 30 epochs"));

        using var cancelled = NewModel();
        using var cancel = new CancellationTokenSource();
        var stopped = FineTuner.Fit(cancelled, plan, Plain, data, null, Options(o => o.Epochs = null), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) cancel.Cancel(); }),
        });
        var file = Path.Combine(Path.GetTempPath(), $"mlnettransfer-test-{Guid.NewGuid():N}.state");
        stopped.Checkpoint!.Save(file);
        var loaded = TrainingCheckpoint.Load(file);
        File.Delete(file);
        Assert.Equal(30, loaded.Epochs);
    }

    [Fact]
    public void A_resumed_run_without_epochs_keeps_the_epochs_its_checkpoint_began_with()
    {
        // a run of 4 epochs (as Auto may cut them to fit its budget), resumed with the epochs left to the plan (30 here)
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll);
        using var whole = NewModel();
        var uninterrupted = FineTuner.Fit(whole, plan, Plain, data, null, Options());

        using var first = NewModel();
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var stopped = FineTuner.Fit(first, plan, Plain, data, null, Options(), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd && ++batches == 4) cancel.Cancel(); }),
        });
        using var second = NewModel(seed: 99);
        second.load_state_dict(Weights(first));
        var resumed = FineTuner.Fit(second, plan, Plain, data, null, Options(o => o.Epochs = null), new TrainingContext { Resume = stopped.Checkpoint });

        Assert.Equal(4, stopped.Checkpoint!.Epochs);
        Assert.Equal(uninterrupted.History.Count, resumed.History.Count);
        var (expected, actual) = (Weights(whole), Weights(second));
        Assert.All(expected.Keys, k => Assert.True(expected[k].equal(actual[k]).all().item<bool>(), $"{k} differs after resuming"));
    }
}

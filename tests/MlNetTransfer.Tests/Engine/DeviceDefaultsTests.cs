using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static MlNetTransfer.Tests.TinyModels;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>What the loop does by itself on a GPU, pinned on the CPU: the untimed warm-up changes nothing, and the
/// device's default batch (32 here, larger on a GPU for large sets) is the one a run and its checkpoint use.</summary>
[Collection(TorchRandomCollection.Name)]
public class DeviceDefaultsTests
{
    public DeviceDefaultsTests() => TorchRuntime.EnsureLoaded();

    /// <summary>The loop tests' options, three epochs with augmentation.</summary>
    static FineTuneOptions Options(Action<FineTuneOptions>? change = null) =>
        TinyModels.Options(o => { o.Epochs = 3; o.Augment = true; change?.Invoke(o); });

    [Theory]
    [InlineData(true)]  // the flat-buffer step, as on a GPU
    [InlineData(false)] // TorchSharp's optimizer
    public void Warm_up_steps_change_neither_the_model_nor_its_history(bool flatOptimizer)
    {
        using var data = SyntheticImages.ColourClasses(perClass: 16);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll);
        (Dictionary<string, Tensor> Weights, TrainingResult Result, List<string> Log) Train(int warmUp)
        {
            using var model = NewModel();
            var log = new List<string>();
            var result = FineTuner.Fit(model, plan, Plain, data, null, Options(o => o.ChannelsLast = !flatOptimizer),
                new TrainingContext { WarmUpSteps = warmUp, FlatOptimizer = flatOptimizer, Log = log.Add });
            return (Weights(model), result, log);
        }

        var cold = Train(0);
        var warm = Train(2);

        Assert.DoesNotContain(cold.Log, l => l.StartsWith("warm-up"));
        Assert.Contains(warm.Log, l => l.StartsWith("warm-up: 2 untimed step(s) on 16 images"));
        // BatchNorm's running statistics are in the state dict: the warm-up's forward passes did not move them
        Assert.All(cold.Weights.Keys, k => Assert.True(cold.Weights[k].equal(warm.Weights[k]).all().item<bool>(), $"{k} differs after a warm-up"));
        Assert.Equal(cold.Result.History.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationAccuracy)),
            warm.Result.History.Select(e => (e.TrainLoss, e.TrainAccuracy, e.ValidationAccuracy)));
    }

    [Fact]
    public void A_negative_warm_up_is_refused_by_name()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 4);
        using var model = NewModel();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll),
            Plain, data, null, Options(), new TrainingContext { WarmUpSteps = -1 }));
        Assert.Equal(nameof(TrainingContext.WarmUpSteps), error.ParamName);
    }

    [Theory]
    [InlineData(DeviceType.CPU, 100_000, 112, 32)]  // the CPU keeps 32 however large the set
    [InlineData(DeviceType.CUDA, 1_600, 112, 32)]   // 2 000 images with a validation fifth: the measured recipe's 50 steps
    [InlineData(DeviceType.CUDA, 3_200, 112, 64)]
    [InlineData(DeviceType.CUDA, 8_000, 112, 128)]  // 10 000 images
    [InlineData(DeviceType.CUDA, 1_000_000, 112, 256)]
    [InlineData(DeviceType.CUDA, 1_000_000, 224, 64)] // ~60 MB of activations per 224 px image: 64 keep under 4 GB
    [InlineData(DeviceType.CUDA, 10, 112, 32)]       // never below the CPU's
    public void The_default_batch_grows_on_a_gpu_with_the_set_and_stays_within_memory(DeviceType device, long trainImages, int side, int expected)
    {
        var resnet = ArchitectureRegistry.Get("resnet18_cntk");
        Assert.Equal(expected, DefaultBatchSize.For(device, trainImages, resnet, side));
    }

    [Fact]
    public void Auto_times_each_side_with_the_batch_a_run_there_would_take_and_leaves_the_model_as_it_was()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 8);
        using var model = NewModel();
        var before = Weights(model);
        var asked = new List<int>();
        var cost = new EpochCost(model, data, Plain, side => { asked.Add(side); return side == 16 ? 8 : 4; }, trainImages: 20, validationImages: 4,
            CPU, channelsLast: false, augment: true, seed: 1, headSide: 16, readSeconds: 5);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);

        var atHeadSide = cost.Of(plan, 16);
        var elsewhere = cost.Of(plan, 32);
        Assert.True(cost.Of(plan, 16).SecondsPerEpoch > 0); // measured once per side

        Assert.Equal([16, 32], asked);
        Assert.True(atHeadSide.SecondsPerEpoch > 0 && elsewhere.SecondsPerEpoch > 0);
        // after the epochs: the flip's passes over validation; at another side also the images read and the classifier solved there
        Assert.InRange(atHeadSide.SecondsAfter, 1e-9, 1);
        Assert.True(elsewhere.SecondsAfter > 5, $"{elsewhere.SecondsAfter} s after at 32 px: the 5 s read again not counted");
        Assert.All(before.Keys, k => Assert.True(before[k].equal(model.state_dict()[k]).all().item<bool>(), $"{k} changed by the timing"));
        // the unfamiliar flag's pass over its images after training counts too
        var flagging = new EpochCost(model, data, Plain, side => 8, trainImages: 20, validationImages: 4,
            CPU, channelsLast: false, augment: true, seed: 1, headSide: 16, readSeconds: 5, familiarImages: 2000);
        // (pinned through each instance's own forward timing: two timings of a pass of microseconds, taken apart, differ
        // by more than the 2 000 images' share where other work shares the cores)
        double flagged = flagging.Of(plan, 16).SecondsAfter, forward = flagging.ForwardSecondsAt(16);
        Assert.True(forward > 0);
        Assert.Equal(forward * (2 * 4 + 2000), flagged, forward * 1e-6);
        Assert.Equal(cost.ForwardSecondsAt(16) * 2 * 4, atHeadSide.SecondsAfter, atHeadSide.SecondsAfter * 1e-9);
    }

    [Fact]
    public void Without_a_batch_size_a_cpu_run_trains_with_32_and_its_checkpoint_keeps_it()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 40); // 96 training images: 3 batches of 32
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll);
        var log = new List<string>();
        using var unset = NewModel();
        FineTuner.Fit(unset, plan, Plain, data, null, Options(o => { o.BatchSize = null; o.Epochs = 2; }), new TrainingContext { Log = log.Add });
        using var given = NewModel();
        FineTuner.Fit(given, plan, Plain, data, null, Options(o => { o.BatchSize = 32; o.Epochs = 2; }));
        var (a, b) = (Weights(unset), Weights(given));
        Assert.All(a.Keys, k => Assert.True(a[k].equal(b[k]).all().item<bool>(), $"{k} differs from the run with batch 32"));
        Assert.Contains("batch 32 (the CPU's default)", log);

        using var cancelled = NewModel();
        using var cancel = new CancellationTokenSource();
        var stopped = FineTuner.Fit(cancelled, plan, Plain, data, null, Options(o => o.BatchSize = null), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) cancel.Cancel(); }),
        });
        var file = Path.Combine(Path.GetTempPath(), $"mlnettransfer-test-{Guid.NewGuid():N}.state");
        stopped.Checkpoint!.Save(file);
        var loaded = TrainingCheckpoint.Load(file);
        File.Delete(file);
        Assert.Equal((32, 1), (loaded.BatchSize, loaded.BatchesDone));
    }

    [Fact]
    public void A_resumed_run_without_a_batch_size_keeps_the_batch_its_checkpoint_began_with()
    {
        // a run of batch 16 (as a GPU's default would be elsewhere), resumed with the batch left to the device (32 here)
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll);
        using var whole = NewModel();
        FineTuner.Fit(whole, plan, Plain, data, null, Options());

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
        FineTuner.Fit(second, plan, Plain, data, null, Options(o => o.BatchSize = null), new TrainingContext { Resume = stopped.Checkpoint });

        var (expected, actual) = (Weights(whole), Weights(second));
        Assert.Equal(16, stopped.Checkpoint!.BatchSize);
        Assert.All(expected.Keys, k => Assert.True(expected[k].equal(actual[k]).all().item<bool>(), $"{k} differs after resuming"));
    }
}

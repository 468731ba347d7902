using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static MlNetTransfer.Tests.TinyModels;

namespace MlNetTransfer.Tests;

/// <summary>Checkpoints kept while training goes on (<see cref="TrainingContext.Checkpoint"/>): for a process that
/// dies without a word, so that it resumes from the last one kept and ends with the uninterrupted run's model. The
/// runs train on <see cref="TestDevice"/>: CUDA where there is a GPU.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Gpu)]
public class FineTunerCheckpointTests : IDisposable
{
    readonly TempDirectory _temp = new();

    public FineTunerCheckpointTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_checkpoint_kept_at_an_epochs_end_resumes_a_fresh_network_to_the_uninterrupted_model()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);
        var options = Options(o => { o.Epochs = 4; o.Augment = true; o.EarlyStoppingPatience = 2; });
        using var whole = NewModel();
        var uninterrupted = FineTuner.Fit(whole, plan, Plain, data, null, options, new TrainingContext { Device = TestDevice.Torch });

        // the same run keeping a checkpoint every epoch, each saved as `train` saves it
        var kept = new List<(int Epoch, int Batches, int Weights)>();
        using var keeping = NewModel();
        var keptRun = FineTuner.Fit(keeping, plan, Plain, data, null, options, new TrainingContext
        {
            Device = TestDevice.Torch,
            CheckpointInterval = TimeSpan.Zero,
            Checkpoint = c =>
            {
                kept.Add((c.Epoch, c.BatchesDone, c.Weights.Count));
                c.Save(_temp.File($"after-{c.Epoch - 1}.state"));
            },
        });

        // every epoch but the last, as the epoch after it begins; the whole network in each; the run itself unchanged
        int stateKeys = Weights(whole).Count;
        Assert.Equal([(2, 0, stateKeys), (3, 0, stateKeys), (4, 0, stateKeys)], kept);
        FineTunerResumeTests.AssertSameWeights(Weights(whole), Weights(keeping));
        int digits = TestDevice.IsCuda ? 3 : 12; // two CUDA runs differ in the last bits already (cuDNN sums in no fixed order)
        Assert.Equal(uninterrupted.History.Select(h => Math.Round(h.TrainLoss, digits)), keptRun.History.Select(h => Math.Round(h.TrainLoss, digits)));

        // the process died after epoch 2: a network made afresh takes the checkpoint's weights and goes on
        var checkpoint = TrainingCheckpoint.Load(_temp.File("after-2.state"));
        Assert.Equal((Tiny.Name, 2), (checkpoint.Architecture, checkpoint.History.Count));
        using var fresh = NewModel(seed: 99);
        WeightLoader.Load(fresh, Tiny, checkpoint.Weights, "the checkpoint");
        var resumed = FineTuner.Fit(fresh, plan, Plain, data, null, options, new TrainingContext { Device = TestDevice.Torch, Resume = checkpoint });

        FineTunerResumeTests.AssertSameWeights(Weights(whole), Weights(fresh));
        Assert.Equal(uninterrupted.BestEpoch, resumed.BestEpoch);
        Assert.Equal(uninterrupted.History.Select(h => h.ValidationAccuracy), resumed.History.Select(h => h.ValidationAccuracy));
    }

    [Fact]
    public void Checkpoints_are_kept_no_more_often_than_the_interval_and_not_after_the_last_epoch()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);
        int calls = 0;
        using var model = NewModel();
        FineTuner.Fit(model, plan, Plain, data, null, Options(o => o.Epochs = 3), new TrainingContext
        {
            Device = TestDevice.Torch,
            CheckpointInterval = TimeSpan.FromHours(1),
            Checkpoint = _ => calls++,
        });
        Assert.Equal(0, calls);

        using var single = NewModel();
        FineTuner.Fit(single, plan, Plain, data, null, Options(o => o.Epochs = 1), new TrainingContext
        {
            Device = TestDevice.Torch,
            CheckpointInterval = TimeSpan.Zero,
            Checkpoint = _ => calls++,
        });
        Assert.Equal(0, calls); // one epoch: nothing goes on after it
    }

    [Fact]
    public void A_checkpoint_without_the_networks_weights_as_older_versions_wrote_it_still_reads()
    {
        var file = _temp.File("cancelled.state");
        Cancelled().Save(file);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..^4]); // older writers ended after the best epoch's weights: no count of the network's

        var read = TrainingCheckpoint.Load(file);

        Assert.Empty(read.Weights);
        Assert.NotEmpty(read.BestWeights);
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_by_name_without_allocating_what_it_claims()
    {
        var file = _temp.File("kept.state");
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        using var model = NewModel();
        FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork), Plain, data, null, Options(o => o.Epochs = 2), new TrainingContext
        {
            CheckpointInterval = TimeSpan.Zero,
            Checkpoint = c => c.Save(file),
        });
        var whole = File.ReadAllBytes(file);

        File.WriteAllBytes(file, whole[..(whole.Length - 100)]); // cut short inside the last tensor
        var cut = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(file));
        Assert.Contains($"{file}: a damaged training checkpoint", cut.Message);
        Assert.Contains("left in the file", cut.Message);

        // a byte count past the file's end, where the optimizer's state begins
        var header = HeaderLength(whole);
        var lying = whole.ToArray();
        BitConverter.GetBytes(int.MaxValue).CopyTo(lying, header);
        File.WriteAllBytes(file, lying);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var claimed = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(file));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the claimed 2 GB were allocated");
        Assert.Contains("past the file's end", claimed.Message);
    }

    [Fact]
    public void Saving_a_checkpoint_leaves_no_tensor_handle_holding_its_weights()
    {
        // a handle left behind (cpu() of a CPU tensor is a new one on the same storage) kept the network's weights in
        // memory until the GC finalized it: with a checkpoint every epoch, 3.7 GB resident after 18 epochs, not 1.8
        var weights = new Dictionary<string, TorchSharp.torch.Tensor> { ["fc.weight"] = TorchSharp.torch.randn(64, 32), ["fc.bias"] = TorchSharp.torch.randn(64) };
        var checkpoint = new TrainingCheckpoint { Epoch = 2, Weights = weights, BestWeights = weights.ToDictionary(kv => kv.Key, kv => kv.Value.clone()) };
        long live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        checkpoint.Save(_temp.File("kept.state"));

        Assert.Equal(live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        checkpoint.DisposeTensors();
        var read = TrainingCheckpoint.Load(_temp.File("kept.state")); // and what it wrote reads back
        try
        {
            Assert.True(read.Weights["fc.weight"].allclose(read.BestWeights["fc.weight"]));
        }
        finally
        {
            read.DisposeTensors();
        }
    }

    /// <summary>Where the header (magic and JSON, length-prefixed strings) ends.</summary>
    static int HeaderLength(byte[] file)
    {
        using var reader = new BinaryReader(new MemoryStream(file));
        reader.ReadString();
        reader.ReadString();
        return (int)reader.BaseStream.Position;
    }

    static TrainingCheckpoint Cancelled()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        using var model = NewModel();
        using var cancel = new CancellationTokenSource();
        var stopped = FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork), Plain, data, null, Options(), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) cancel.Cancel(); }),
        });
        return stopped.Checkpoint!;
    }
}

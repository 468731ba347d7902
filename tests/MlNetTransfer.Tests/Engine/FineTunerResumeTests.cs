using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static MlNetTransfer.Tests.TinyModels;

namespace MlNetTransfer.Tests;

/// <summary>Stopping the training loop and going on from its checkpoint: cancellation after the current batch, a
/// resumed run that ends with the uninterrupted run's model, and what a checkpoint holds the resumed run to. The runs
/// train on <see cref="TestDevice"/>: CUDA where there is a GPU.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Gpu)]
public class FineTunerResumeTests
{
    public FineTunerResumeTests() => TorchRuntime.EnsureLoaded();

    /// <summary>The resumed model against the uninterrupted one: bit for bit on the CPU. cuDNN's convolution gradients
    /// sum in no fixed order (atomics), so two uninterrupted CUDA runs already differ in the last bits; there the
    /// resumed run must land within that rounding — a resume that lost the optimizer's moments, the shuffle or the
    /// rate schedule moves weights by far more.</summary>
    internal static void AssertSameWeights(Dictionary<string, TorchSharp.torch.Tensor> expected, Dictionary<string, TorchSharp.torch.Tensor> actual)
    {
        double rtol = TestDevice.IsCuda ? 1e-3 : 0, atol = TestDevice.IsCuda ? 1e-4 : 0;
        foreach (var k in expected.Keys)
            if (!expected[k].allclose(actual[k], rtol, atol))
                Assert.Fail($"{k} differs after resuming on {TestDevice.Choice.Device}: largest difference " +
                            $"{(expected[k] - actual[k]).abs().max().to_type(TorchSharp.torch.ScalarType.Float64).item<double>():G3}");
    }

    [Fact]
    public void Cancellation_stops_after_the_current_batch_without_throwing()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        using var model = NewModel();
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var context = new TrainingContext
        {
            Device = TestDevice.Torch,
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd && ++batches == 5) cancel.Cancel(); }),
        };

        var result = FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.RetrainAll), Plain, data, null, Options(), context);

        Assert.True(result.Cancelled);
        Assert.Equal(5, batches);
        Assert.True(result.History.Count <= 2);
        Assert.NotNull(result.Checkpoint); // 48 training images, 3 batches an epoch: stopped in epoch 2 after 2 batches
        Assert.Equal((2, 2), (result.Checkpoint!.Epoch, result.Checkpoint.BatchesDone));
    }

    [Theory]
    [InlineData(2, false)]  // in epoch 1
    [InlineData(7, false)]  // in epoch 3, with augmentation, dropout-free net, shuffles and the one-cycle rate all mid-flight
    [InlineData(7, true)]   // the same with the flat-buffer optimizer (standard layout, as on a GPU)
    public void A_run_cancelled_and_resumed_ends_with_the_model_of_an_uninterrupted_run(int cancelAfterBatches, bool flatOptimizer)
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);
        var options = Options(o => { o.Epochs = 4; o.Augment = true; o.EarlyStoppingPatience = 2; o.ChannelsLast = !flatOptimizer; });

        using var whole = NewModel();
        var uninterrupted = FineTuner.Fit(whole, plan, Plain, data, null, options, new TrainingContext { Device = TestDevice.Torch });

        using var first = NewModel();
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var stopped = FineTuner.Fit(first, plan, Plain, data, null, options, new TrainingContext
        {
            Device = TestDevice.Torch,
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd && ++batches == cancelAfterBatches) cancel.Cancel(); }),
        });
        Assert.True(stopped.Cancelled);
        var checkpointFile = Path.Combine(Path.GetTempPath(), $"mlnettransfer-test-{Guid.NewGuid():N}.state");
        stopped.Checkpoint!.Save(checkpointFile); // through the file, as `train --resume` reads it
        var checkpoint = TrainingCheckpoint.Load(checkpointFile);
        File.Delete(checkpointFile);

        using var second = NewModel(seed: 99); // whatever it starts as, the checkpoint's weights replace it
        second.load_state_dict(Weights(first));
        var resumed = FineTuner.Fit(second, plan, Plain, data, null, options, new TrainingContext { Device = TestDevice.Torch, Resume = checkpoint });

        AssertSameWeights(Weights(whole), Weights(second));
        Assert.Equal(uninterrupted.BestEpoch, resumed.BestEpoch);
        Assert.Equal(uninterrupted.History.Select(h => h.ValidationAccuracy), resumed.History.Select(h => h.ValidationAccuracy));
        int digits = TestDevice.IsCuda ? 3 : 5;
        Assert.Equal(uninterrupted.History.Select(h => Math.Round(h.TrainLoss, digits)), resumed.History.Select(h => Math.Round(h.TrainLoss, digits)));
    }

    [Fact]
    public void A_checkpoint_refuses_to_resume_on_another_number_of_training_images()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        using var fewer = SyntheticImages.ColourClasses(perClass: 19);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);
        using var model = NewModel();
        using var cancel = new CancellationTokenSource();
        var stopped = FineTuner.Fit(model, plan, Plain, data, null, Options(), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) cancel.Cancel(); }),
        });
        var checkpointFile = Path.Combine(Path.GetTempPath(), $"mlnettransfer-test-{Guid.NewGuid():N}.state");
        stopped.Checkpoint!.Save(checkpointFile);
        var checkpoint = TrainingCheckpoint.Load(checkpointFile);
        File.Delete(checkpointFile);

        var e = Assert.Throws<ArgumentException>(() => FineTuner.Fit(model, plan, Plain, fewer, null, Options(), new TrainingContext { Resume = checkpoint }));

        Assert.Equal(48, checkpoint.TrainImages); // 80 % of 60 images
        Assert.Equal("ResumeFrom", e.ParamName);
        Assert.Contains("training on 48 images and this data gives 45", e.Message);
    }

    [Fact]
    public void A_resumed_run_keeps_the_epochs_its_checkpoint_planned_whatever_its_options_say()
    {
        // Auto cuts a run's epochs to its budget, but a resumed run reads the user's options again (6 epochs here):
        // its schedule must still span the 3 the run began with
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var plan = StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork);
        var cut = Options(o => { o.Epochs = 3; o.Augment = true; });
        using var whole = NewModel();
        FineTuner.Fit(whole, plan, Plain, data, null, cut, new TrainingContext { Device = TestDevice.Torch });

        using var first = NewModel();
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var stopped = FineTuner.Fit(first, plan, Plain, data, null, cut, new TrainingContext
        {
            Device = TestDevice.Torch,
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd && ++batches == 4) cancel.Cancel(); }),
        });
        using var second = NewModel(seed: 99);
        second.load_state_dict(Weights(first));
        var resumed = FineTuner.Fit(second, plan, Plain, data, null, Options(o => o.Augment = true), new TrainingContext { Device = TestDevice.Torch, Resume = stopped.Checkpoint });

        Assert.Equal(3, stopped.Checkpoint!.Epochs);
        Assert.Equal(3, resumed.History.Count);
        AssertSameWeights(Weights(whole), Weights(second));
    }

    [Fact]
    public void A_checkpoint_written_before_the_planned_epochs_and_image_count_were_kept_still_reads()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        using var model = NewModel();
        using var cancel = new CancellationTokenSource();
        var stopped = FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork), Plain, data, null, Options(), new TrainingContext
        {
            Cancellation = cancel.Token,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (!p.IsEpochEnd) cancel.Cancel(); }),
        });
        var file = Path.Combine(Path.GetTempPath(), $"mlnettransfer-test-{Guid.NewGuid():N}.state");
        stopped.Checkpoint!.Save(file);
        // the header as older versions wrote it: without Epochs and TrainImages
        byte[] older;
        using (var reader = new BinaryReader(File.OpenRead(file)))
        {
            var magic = reader.ReadString();
            var header = System.Text.Json.Nodes.JsonNode.Parse(reader.ReadString())!.AsObject();
            Assert.True(header.Remove("Epochs") && header.Remove("TrainImages"));
            var rest = reader.ReadBytes((int)(reader.BaseStream.Length - reader.BaseStream.Position));
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(magic);
                writer.Write(header.ToJsonString());
                writer.Write(rest);
            }
            older = buffer.ToArray();
        }
        File.WriteAllBytes(file, older);

        var read = TrainingCheckpoint.Load(file);
        File.Delete(file);

        Assert.Equal((0, 0L), (read.Epochs, read.TrainImages)); // not recorded then: the options' epochs apply, no count is checked
        Assert.Equal((stopped.Checkpoint.Epoch, stopped.Checkpoint.BatchesDone, stopped.Checkpoint.BestAccuracy), (read.Epoch, read.BatchesDone, read.BestAccuracy));
        Assert.Equal(stopped.Checkpoint.OptimizerState, read.OptimizerState);
        Assert.Equal(stopped.Checkpoint.BestWeights.Keys.Order(), read.BestWeights.Keys.Order());
    }
}

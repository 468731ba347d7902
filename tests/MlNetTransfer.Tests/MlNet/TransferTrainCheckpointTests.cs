using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;
using static MlNetTransfer.Tests.TransferTrainBehaviourTests;

namespace MlNetTransfer.Tests;

/// <summary>TransferTrainOptions.Checkpoint: a fit whose process died continues from the checkpoint it kept, given
/// only that file, to the model the uninterrupted fit gives. The fits take the device a user's would.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
[Trait(TestCategory.Trait, TestCategory.Gpu)]
public class TransferTrainCheckpointTests
{
    public TransferTrainCheckpointTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_fit_resumed_from_a_checkpoint_file_alone_gives_the_uninterrupted_model()
    {
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 8));
        TransferTrainOptions Options(Action<TransferTrainOptions>? change = null) =>
            Quick(o => { o.Epochs = 4; o.ValidationFraction = 0.25; o.Augment = true; o.BatchSize = 16; change?.Invoke(o); });
        List<float[]> Scores(ITransformer model) => model.Transform(data).GetColumn<float[]>("Score").ToList();

        // the fit keeps a checkpoint after every epoch; the one after epoch 2 is what a process killed in epoch 3 left
        var epochs = new List<int>();
        using var whole = Pipeline(ml, Options(o =>
        {
            o.CheckpointInterval = TimeSpan.Zero;
            o.Checkpoint = c =>
            {
                epochs.Add(c.Epoch - 1);
                if (c.Epoch == 3) c.Save(temp.File("run.checkpoint"));
            };
        })).Fit(data) as IDisposable;
        Assert.Equal([1, 2, 3], epochs);
        var expected = Scores((ITransformer)whole!);

        using var resumed = Pipeline(ml, Options(o => o.ResumeFrom = TrainingCheckpoint.Load(temp.File("run.checkpoint")))).Fit(data) as IDisposable;

        var actual = Scores((ITransformer)resumed!);
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, (IEqualityComparer<float>)new Tolerance(TestDevice.RoundingTolerance)));
    }

    [Fact]
    public void A_cancelled_fits_checkpoint_without_its_partial_model_is_refused_by_name()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 8));
        using var cancel = new CancellationTokenSource();
        var stopped = Assert.Throws<TrainingCancelledException>(() => Pipeline(ml, Quick(o =>
        {
            o.CancellationToken = cancel.Token;
            o.Progress = p => { if (!p.IsEpochEnd) cancel.Cancel(); };
        })).Fit(data));
        using var partial = stopped.PartialModel!;

        var e = Assert.Throws<ArgumentException>(() => Pipeline(ml, Quick(o => o.ResumeFrom = partial.Training.Checkpoint)).Fit(data));

        Assert.Equal(nameof(TransferTrainOptions.ResumeFrom), e.ParamName);
        Assert.Contains("needs ContinueFromModelPath", e.Message);
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Pipeline(ml, Quick(o => o.CheckpointInterval = TimeSpan.FromSeconds(-1))).Fit(data));
        Assert.Equal(nameof(TransferTrainOptions.CheckpointInterval), negative.ParamName);
    }
}

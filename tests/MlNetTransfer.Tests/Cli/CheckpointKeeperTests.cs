using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>What `train` does with the checkpoints a run hands over while it trains: kept whole in --out, replacing
/// an earlier interrupted run's, and never the end of the run when they cannot be written.</summary>
public class CheckpointKeeperTests : IDisposable
{
    readonly TempDirectory _temp = new();

    public CheckpointKeeperTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => _temp.Dispose();

    static TrainingCheckpoint Checkpoint(int epoch) => new()
    {
        Strategy = FineTuneStrategy.WholeNetwork, ImageSize = 16, Epoch = epoch,
        Weights = new Dictionary<string, Tensor> { ["fc.weight"] = tensor(Enumerable.Repeat((float)epoch, 6).ToArray()).reshape(2, 3) },
    };

    ResumeState Run() => ResumeState.Of(_temp.Path, null, strict: false, "cpu", new TransferTrainOptions { Epochs = 7 });

    [Fact]
    public void The_first_checkpoint_of_a_run_replaces_an_earlier_interrupted_runs_files_and_later_ones_replace_it()
    {
        var output = Directory.CreateDirectory(_temp.File("out")).FullName;
        foreach (var name in new[] { ResumeState.FileName, ResumeState.CheckpointName, ResumeState.StateName })
            File.WriteAllText(Path.Combine(output, name), "an earlier run's");
        var said = new List<string>();
        var keeper = new CheckpointKeeper(Run(), output, said.Add);

        keeper.Keep(Checkpoint(2));
        Assert.False(File.Exists(Path.Combine(output, ResumeState.CheckpointName)), "the earlier run's partial model stayed beside this run's record");
        keeper.Keep(Checkpoint(3));

        Assert.True(keeper.Kept);
        Assert.Equal([$"checkpoint after epoch 1 kept in {output}", $"checkpoint after epoch 2 kept in {output}"], said.Select(w => w[..w.IndexOf(" (")]));
        var (state, checkpoint) = ResumeState.Load(output);
        Assert.Equal(7, state.Options.Epochs);
        Assert.Equal(3, checkpoint.Epoch);
        Assert.Equal(3f, checkpoint.Weights["fc.weight"].mean().item<float>());
        Assert.Null(state.Options.ContinueFromModelPath); // the checkpoint carries the network: no partial model needed
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_checkpoint_that_cannot_be_written_is_said_once_and_training_goes_on()
    {
        var output = _temp.File("a-file-not-a-folder");
        File.WriteAllText(output, "taken");
        var said = new List<string>();
        var keeper = new CheckpointKeeper(Run(), output, said.Add);

        keeper.Keep(Checkpoint(2)); // does not throw: the run it guards goes on
        keeper.Keep(Checkpoint(3));

        Assert.False(keeper.Kept);
        Assert.NotNull(keeper.Failure);
        var warning = Assert.Single(said);
        Assert.StartsWith($"could not keep a checkpoint in {output} (", warning);
        Assert.Contains("training goes on", warning);
        Assert.Equal("taken", File.ReadAllText(output));
    }
}

using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;

namespace MlNetTransfer.Tests;

/// <summary>
/// Every door through which a user's thread reaches libtorch holds what it makes (<see cref="HeldTensors"/>): the
/// recipe, and through the CLI the ML.NET step's Fit, its heatmaps, the data checks and a job's export make no tensor
/// outside a dispose scope on the thread that runs them (before the hold a run made 130–360 there, each free to be
/// finalized while libtorch read it). TorchSharp counts them per thread.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public class HeldTensorDoorsTests : CliSandbox
{
    public HeldTensorDoorsTests() => TorchRuntime.EnsureLoaded();

    static ThreadDisposeScopeStatistics Counted(Action run)
    {
        var statistics = DisposeScopeManager.Statistics;
        statistics.Reset();
        run();
        return statistics;
    }

    [Theory]
    [InlineData(FineTuneStrategy.Auto)]
    [InlineData(FineTuneStrategy.WholeNetwork)]
    public void The_recipe_makes_no_tensor_outside_a_dispose_scope_on_its_thread(FineTuneStrategy strategy)
    {
        using var data = SyntheticImages.ColourClasses(perClass: 20);
        var options = new FineTuneOptions { Architecture = "tiny", Weights = PretrainedCatalog.Scratch, ImageSize = 16, Epochs = 2,
            BatchSize = 16, LearningRate = 0.01, Seed = 3, Strategy = strategy };
        var start = StartingPoint.For(options);

        var counted = Counted(() => TransferRecipe.Run(options, start, new TensorImageSource(data), null).Dispose());

        Assert.True(counted.CreatedInScopeCount > 1000, $"{counted.CreatedInScopeCount} tensors counted: the run was not on this thread");
        Assert.Equal(0, counted.CreatedOutsideScopeCount);
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Train_check_and_job_export_through_the_CLI_make_no_tensor_outside_a_dispose_scope_on_their_thread()
    {
        // the embedded ResNet: pretrained, so the data checks run inside train, and the report draws heatmaps
        foreach (var command in new[]
        {
            $"train --data {Train} --test {Test} --out {Out} --strategy HeadOnly --image-size 32 --seed 1",
            $"check --data {Train} --test {Test}",
            $"job export --data {Train} {Fast} --epochs 1 --out {Path.Combine(_temp.Path, "job")}",
        })
        {
            int exit = -1;
            string output = "";
            var counted = Counted(() => (exit, output) = Run(command));

            Assert.True(exit == 0, $"{command}: exit {exit}\n{output}");
            Assert.True(counted.CreatedInScopeCount > 100, $"{command}: {counted.CreatedInScopeCount} tensors counted: not on this thread");
            Assert.True(counted.CreatedOutsideScopeCount == 0, $"{command}: {counted}");
        }
        Assert.True(File.Exists(Path.Combine(Out, "report.html")));
    }
}

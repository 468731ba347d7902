using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Fine-tuning the embedded ImageNet ResNet on real images (data-samples/fashion-mnist, 400 train and
/// 100 test images, 10 classes) at a small resolution, end to end through the engine.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
[Trait(TestCategory.Trait, TestCategory.Gpu)]
public class RealDataFineTuneTests
{
    readonly ITestOutputHelper _output;

    public RealDataFineTuneTests(ITestOutputHelper output)
    {
        TorchRuntime.EnsureLoaded();
        _output = output;
    }

    // Measured on the 2-core CI machine kind, seed 1, 64 px, 6 epochs: HeadOnly 77.0 % (3.7 s), LastLayers 76.0 %
    // (6.7-9.5 s) on the 100 test images; chance is 10 %. Floors sit well under: a library update may move them.
    [Theory]
    [InlineData(FineTuneStrategy.HeadOnly, 0.67)]
    [InlineData(FineTuneStrategy.LastLayers, 0.70)]
    public void Embedded_resnet_fine_tunes_far_above_chance(FineTuneStrategy strategy, double floor)
    {
        const int side = 64;
        var architecture = ArchitectureRegistry.Get(FineTuneOptions.Defaults.Architecture);
        var weights = PretrainedCatalog.Resolve(architecture, null)!;
        var preprocessing = weights.Preprocessing.At(side);
        using var train = SampleImages.Load("train", side);
        using var test = SampleImages.Load("test", side);
        TorchSharp.torch.random.manual_seed(1); // the new head's initial weights: without a seed the result varies by run
        using var model = architecture.Create(train.ClassNames.Count);
        weights.LoadInto(model, architecture);
        var clock = Stopwatch.StartNew();

        var result = FineTuner.Fit(model, StrategyPlan.For(architecture, strategy), preprocessing, train, null,
            new FineTuneOptions { Epochs = 6, BatchSize = 32, LearningRate = 3e-3, Seed = 1, EarlyStoppingPatience = 0 },
            new TrainingContext { Device = TestDevice.Torch });
        var (_, accuracy) = FineTuner.Evaluate(model, preprocessing, test, 50, TestDevice.Torch);
        Assert.All(model.parameters(), p => Assert.Equal(TestDevice.Torch.type, p.device_type));

        _output.WriteLine($"{strategy}: test accuracy {accuracy:P1} after {result.History.Count} epochs, best {result.BestEpoch}, {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(accuracy >= floor, $"{strategy}: test accuracy {accuracy:P1} is under the floor {floor:P0} (chance is 10 %)");
    }
}

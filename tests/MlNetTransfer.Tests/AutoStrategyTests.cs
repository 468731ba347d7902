using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Auto: the recipe's size × similarity table, with similarity measured by a linear probe.</summary>
[Collection(TorchRandomCollection.Name)]
public class AutoStrategyTests
{
    readonly Xunit.Abstractions.ITestOutputHelper _output;

    public AutoStrategyTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        TorchRuntime.EnsureLoaded();
        _output = output;
    }

    [Theory]
    [InlineData(40, 0.9, false, FineTuneStrategy.HeadOnly)]        // small, similar
    [InlineData(40, 0.2, false, FineTuneStrategy.InitialLayers)]   // small, different
    [InlineData(1000, 0.9, false, FineTuneStrategy.LastLayers)]    // large, similar, CPU
    [InlineData(1000, 0.9, true, FineTuneStrategy.WholeNetwork)]   // large, similar, GPU
    [InlineData(1000, 0.2, true, FineTuneStrategy.RetrainAll)]     // large, different
    public void Decides_from_size_similarity_and_device(double imagesPerClass, double probe, bool gpu, FineTuneStrategy expected)
    {
        var decision = AutoStrategy.Decide(imagesPerClass, probe, chanceAccuracy: 0.1, onGpu: gpu);

        Assert.Equal(expected, decision.Strategy);
        Assert.Contains($"{imagesPerClass:0.#} images per class", decision.Reason);
        Assert.Contains("similarity", decision.Reason);
        Assert.Contains(gpu ? "GPU" : "CPU", decision.Reason);
    }

    [Fact]
    public void The_probe_separates_learnable_classes_and_not_shuffled_labels()
    {
        var tiny = ArchitectureRegistry.Get("tiny");
        random.manual_seed(2);
        using var model = tiny.Create(3);
        using var data = SyntheticImages.ColourClasses(perClass: 40);
        using var shuffled = new ImageTensorDataset(data.Images.clone(), data.Labels.index_select(0, randperm(data.Count)), data.ClassNames);

        var (separable, chance) = AutoStrategy.ProbeAccuracy(model, tiny, Preprocessing.Unit(16), data, CPU, seed: 1);
        var (noise, _) = AutoStrategy.ProbeAccuracy(model, tiny, Preprocessing.Unit(16), shuffled, CPU, seed: 1);

        Assert.Equal(1 / 3.0, chance, 6);
        Assert.True(separable >= 0.9, $"probe accuracy {separable} on colour classes");
        Assert.True(noise <= 0.6, $"probe accuracy {noise} on shuffled labels");
    }

    [Fact]
    public void Auto_on_the_samples_with_the_embedded_resnet_reports_its_numbers()
    {
        var arch = ArchitectureRegistry.Get("resnet18_cntk");
        var weights = PretrainedCatalog.Resolve(arch, null)!;
        using var model = arch.Create(10);
        weights.LoadInto(model, arch);
        using var data = SampleImages.Load("train", 64);

        var decision = AutoStrategy.Choose(model, arch, weights.Preprocessing.At(64), data, CPU, seed: 1);

        _output.WriteLine($"{decision.Strategy}: {decision.Reason}");
        Assert.Equal(40, decision.ImagesPerClass);
        Assert.Equal(0.1, decision.ChanceAccuracy, 6);
        Assert.True(decision.ProbeAccuracy > 0.4, decision.Reason); // ImageNet features separate Fashion-MNIST far above chance
        Assert.Contains(decision.Strategy, new[] { FineTuneStrategy.HeadOnly, FineTuneStrategy.InitialLayers });
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The weight contract of every registry row: state_dict keys as PyTorch names them, layer groups that
/// cover every parameter exactly once, and a classifier that resets the same way everywhere.</summary>
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class ArchitectureRegistryTests
{
    public ArchitectureRegistryTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Resnet50_trains_a_step_on_any_x86_cpu_including_those_whose_caches_cpuid_leaves_undescribed()
    {
        // on such a CPU (an AMD EPYC virtual machine) oneDNN's brgemm 1x1 convolution divides by zero: SIGFPE, and
        // this test host dies with it; the registry row switches oneDNN off there before the network is built
        using var model = ArchitectureRegistry.Get("resnet50").Create(numClasses: 3);
        using var scope = NewDisposeScope();
        var images = rand(2, 3, 64, 64);
        var loss = nn.functional.cross_entropy(model.call(images), tensor(new long[] { 0, 2 }));
        loss.backward();

        Assert.True(loss.isfinite().item<bool>());
        Assert.All(model.parameters(), p => Assert.True(p.grad is { } grad && grad.isfinite().all().item<bool>()));
        var asked = Environment.GetEnvironmentVariable(OneDnnGuard.EnvironmentVariable);
        Assert.Equal(asked == "off" || (OneDnnGuard.CacheHierarchyMissing && asked != "on"), OneDnnGuard.SwitchedOff);
    }

    // state_dict key counts of torchvision's models (num_batches_tracked included) — what a .pth from PyTorch holds.
    [Theory]
    [InlineData("alexnet", 16, "features.0.weight", "classifier.6.bias", 64)]
    [InlineData("resnet18", 122, "conv1.weight", "fc.bias", 32)]
    [InlineData("resnet18_cntk", 134, "layer4.2.conv2.weight", "fc.bias", 32)] // 2-2-2-3: one basic block (12 keys) more
    [InlineData("resnet18_cntk_multilevel", 134, "layer4.2.conv2.weight", "fc.bias", 32)] // the same names; fc reads 896 values
    [InlineData("resnet34", 218, "conv1.weight", "fc.bias", 32)]
    [InlineData("resnet50", 320, "conv1.weight", "fc.bias", 32)]
    [InlineData("mobilenet_v2", 314, "features.0.0.weight", "classifier.1.bias", 32)]
    [InlineData("vgg16", 32, "features.0.weight", "classifier.6.bias", 32)]
    [InlineData("tiny", 16, "features.0.weight", "classifier.bias", 8)]
    public void State_dict_keys_groups_and_output_shape(string name, int keyCount, string someKey, string headBias, int side)
    {
        var architecture = ArchitectureRegistry.Get(name);
        using var model = architecture.Create(numClasses: 7);
        var keys = model.state_dict().Keys.ToList();

        Assert.Equal(keyCount, keys.Count);
        Assert.Contains(someKey, keys);
        Assert.Contains(headBias, keys);
        foreach (var (parameter, _) in model.named_parameters())
            Assert.Single(architecture.LayerGroups, g => g.Contains(parameter));
        Assert.Equal(new[] { architecture.ClassifierPrefix + ".weight", architecture.ClassifierPrefix + ".bias" },
            model.named_parameters().Select(p => p.name).Where(architecture.IsClassifierKey).ToArray());
        Assert.Equal(7, model.state_dict()[headBias].shape[0]);

        model.eval();
        using var _ = no_grad();
        using var output = model.call(randn(2, 3, side, side));
        Assert.Equal(new long[] { 2, 7 }, output.shape);
    }

    [Fact]
    public void Reset_classifier_keeps_the_backbone_and_replaces_only_the_head()
    {
        var architecture = ArchitectureRegistry.Get("alexnet");
        using var model = architecture.Create(numClasses: 1000);

        using var reset = architecture.ResetClassifier(model, numClasses: 5);

        var before = model.state_dict();
        var after = reset.state_dict();
        Assert.Equal(new long[] { 5, 4096 }, after["classifier.6.weight"].shape);
        foreach (var key in before.Keys.Where(k => !architecture.IsClassifierKey(k)))
            Assert.True(before[key].allclose(after[key], rtol: 0, atol: 0), $"{key} changed");
    }

    [Fact]
    public void Unknown_architecture_error_lists_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => ArchitectureRegistry.Get("resnet19"));

        Assert.Contains("resnet19", e.Message);
        Assert.Contains("alexnet", e.Message);
        Assert.Contains("mobilenet_v2", e.Message);
    }

    [Fact]
    public void Lookup_is_case_insensitive_and_every_row_has_a_head_last()
    {
        Assert.Same(ArchitectureRegistry.Get("resnet18"), ArchitectureRegistry.Get("ResNet18"));
        Assert.All(ArchitectureRegistry.All, a => Assert.Equal("head", a.LayerGroups[^1].Name));
    }
}

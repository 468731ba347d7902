using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The registry's ResNets and MobileNetV2 are built on this project's residual blocks, whose adds hold their
/// Scalars (<see cref="HeldScalars"/>): module for module TorchVision's networks — the same state_dict in the same
/// order, the same numbers from the same seed, the same outputs.</summary>
[Trait(TestCategory.Trait, TestCategory.Slow)]
[Collection(TorchRandomCollection.Name)] // seeds the process's generator twice and compares what each seed built
public class ResidualBlockTests
{
    public ResidualBlockTests() => TorchRuntime.EnsureLoaded();

    public static TheoryData<string> Networks => ["resnet18", "resnet34", "resnet50", "mobilenet_v2"];

    static nn.Module<Tensor, Tensor> Torchvision(string name, int classes) => name switch
    {
        "resnet18" => torchvision.models.resnet18(classes),
        "resnet34" => torchvision.models.resnet34(classes),
        "resnet50" => torchvision.models.resnet50(classes),
        "mobilenet_v2" => torchvision.models.mobilenet_v2(classes),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void A_registry_network_is_torchvisions_module_for_module_and_number_for_number(string name)
    {
        random.manual_seed(11);
        using var ours = ArchitectureRegistry.Get(name).Create(5);
        random.manual_seed(11);
        using var theirs = Torchvision(name, 5);
        using var scope = NewDisposeScope();

        var ourState = ours.state_dict().ToList();
        var theirState = theirs.state_dict().ToList();
        Assert.Equal(theirState.Select(p => p.Key), ourState.Select(p => p.Key));
        foreach (var ((key, mine), (_, expected)) in ourState.Zip(theirState))
            Assert.True(mine.equal(expected).all().item<bool>(), $"{name}: {key} starts from other numbers");

        ours.eval();
        theirs.eval();
        using var _ = no_grad();
        var images = rand(2, 3, 64, 64, generator: new Generator(3));
        Assert.True(ours.call(images).equal(theirs.call(images)).all().item<bool>(), $"{name}: other outputs");
    }

    [Fact]
    public void Mobilenets_blocks_add_the_shortcut_exactly_where_torchvisions_do()
    {
        using var block = new InvertedResidualBlock(16, 16, 1, 6, c => nn.BatchNorm2d(c));
        using var strided = new InvertedResidualBlock(16, 16, 2, 6, c => nn.BatchNorm2d(c));
        using var widened = new InvertedResidualBlock(16, 24, 1, 6, c => nn.BatchNorm2d(c));
        block.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = rand(1, 16, 8, 8, generator: new Generator(4));
        var conv = (nn.Module<Tensor, Tensor>)block.named_children().Single(c => c.name == "conv").module;

        Assert.True(block.call(x).equal(x.Plus(conv.call(x))).all().item<bool>()); // stride 1, channels kept: x + conv(x)
        Assert.Equal([1L, 16, 4, 4], strided.call(x).shape);
        Assert.Equal([1L, 24, 8, 8], widened.call(x).shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InvertedResidualBlock(16, 16, 3, 6, c => nn.BatchNorm2d(c)));
    }
}

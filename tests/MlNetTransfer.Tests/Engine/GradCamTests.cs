using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Explain;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Grad-CAM through TorchSharp's autograd: for networks that average their last maps into a linear classifier
/// it must be the class activation map (each map weighted by its classifier weight), which is computed here without
/// gradients; every architecture row names a layer that gives maps.</summary>
[Collection(TorchRandomCollection.Name)]
public class GradCamTests
{
    public GradCamTests() => TorchRuntime.EnsureLoaded();

    /// <summary>The class activation map, without autograd: the layer's maps, weighted by the classifier's row.</summary>
    static Tensor Cam(nn.Module<Tensor, Tensor> model, Architecture architecture, Tensor input, IReadOnlyList<int> classes)
    {
        var layer = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == architecture.CamLayer).module;
        Tensor? maps = null;
        var hook = layer.register_forward_hook((_, _, output) => { maps = output.detach().clone().DetachFromDisposeScope(); return output; });
        using (no_grad()) model.forward(input).Dispose();
        hook.remove();
        var weight = model.state_dict()[architecture.ClassifierPrefix + ".weight"]; // [C, K]
        var rows = weight.index_select(0, tensor(classes.Select(c => (long)c).ToArray()));
        var cam = nn.functional.relu((rows.view(rows.shape[0], rows.shape[1], 1, 1) * maps!).sum(1));
        return cam / cam.flatten(1).max(1).values.AtLeast(1e-12).view(-1, 1, 1);
    }

    [Theory]
    [InlineData("resnet18_cntk", 64)]
    [InlineData("tiny", 16)]
    public void Grad_cam_of_a_pooled_linear_classifier_is_its_class_activation_map(string name, int side)
    {
        var architecture = ArchitectureRegistry.Get(name);
        var options = new FineTuneOptions { Architecture = name, Weights = name == "tiny" ? "scratch" : null };
        var start = StartingPoint.For(options);
        random.manual_seed(4);
        using var model = start.CreateModel(3);
        using var images = SampleImages.Load("test", side).ReadAll().narrow(0, 0, 4);
        int[] classes = [0, 2, 1, 2];

        using var maps = GradCam.Maps(model, architecture, start.Preprocessing.At(side), images, classes);
        using var expected = Cam(model, architecture, start.Preprocessing.At(side).Normalize(images), classes);

        Assert.Equal(expected.shape, maps.shape);
        Assert.True(maps.allclose(expected, rtol: 1e-3, atol: 1e-4), $"largest difference {(maps - expected).abs().max().item<float>()}");
        Assert.Equal(1f, maps.flatten(1).max(1).values.min().item<float>(), 3); // each scaled to its largest value
        Assert.False(maps[0].allclose(maps[1])); // another image, another class: another map
    }

    [Fact]
    public void Every_architecture_names_a_layer_whose_output_is_a_map_larger_than_one_pixel()
    {
        foreach (var architecture in ArchitectureRegistry.All)
        {
            using var model = architecture.Create(3);
            var layer = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == architecture.CamLayer).module;
            long[]? shape = null;
            var hook = layer.register_forward_hook((_, _, output) => { shape = output.shape; return output; });
            model.eval();
            using (no_grad()) model.forward(zeros(1, 3, architecture.DefaultInputSize, architecture.DefaultInputSize)).Dispose();
            hook.remove();
            Assert.True(shape is { Length: 4 } && shape[2] > 1 && shape[3] > 1, $"{architecture.Name}.{architecture.CamLayer}: [{string.Join(",", shape ?? [])}]");
        }
    }
}

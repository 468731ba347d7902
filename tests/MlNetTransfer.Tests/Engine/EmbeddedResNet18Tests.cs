using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The embedded ImageNet ResNet18 is valid only if the TorchSharp network with the imported weights computes
/// what ONNX Runtime computes with the original CNTK export, on the same input.</summary>
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class EmbeddedResNet18Tests
{
    static readonly Architecture ResNet18 = ArchitectureRegistry.Get("resnet18_cntk");
    readonly ITestOutputHelper _output;

    public EmbeddedResNet18Tests(ITestOutputHelper output)
    {
        TorchRuntime.EnsureLoaded();
        _output = output;
    }

    /// <summary>Real images from data-samples (one per class), upscaled to 224 px: RGB 0..255, [N,3,224,224].</summary>
    static Tensor RealImages(int count)
    {
        using var test = SampleImages.Load("test", 224);
        using var index = HeldScalars.Range(0, 10 * count, 10);
        return test.Gather(index.data<long>().ToArray()).to_type(ScalarType.Float32);
    }

    static float[] OnnxRun(string modelPath, string input, string output, Tensor x)
    {
        using var session = new InferenceSession(modelPath);
        var result = new List<float>();
        for (long i = 0; i < x.shape[0]; i++)
        {
            var one = x[i].unsqueeze(0).contiguous();
            var dense = new DenseTensor(one.data<float>().ToArray(), one.shape.Select(d => (int)d).ToArray());
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(input, dense)]);
            result.AddRange(outputs.Single(o => o.Name == output).AsEnumerable<float>());
        }
        return result.ToArray();
    }

    static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }

    [Fact]
    public void Preprocessing_equals_the_featurizers_preprocessing_graph()
    {
        var weights = PretrainedCatalog.Resolve(ResNet18, null)!;
        using var rgb = RealImages(2);

        var ours = weights.Preprocessing.Normalize(rgb).data<float>().ToArray();
        var onnx = OnnxRun(Path.Combine(PretrainedCatalog.DnnImageModelsDirectory, "ResNetPrepOnnx", "ResNetPreprocess.onnx"),
            "OriginalInput", "PreprocessedInput", rgb);

        Assert.True(MaxAbsDiff(ours, onnx) <= 1e-4f);
    }

    [Fact]
    public void Imported_features_equal_onnx_runtimes_on_real_images()
    {
        var weights = PretrainedCatalog.Resolve(ResNet18, null)!;
        Assert.Equal(PretrainedCatalog.EmbeddedResNet18, weights.Name);
        using var model = ResNet18.Create(512);
        var report = weights.LoadInto(model, ResNet18);
        Assert.True(report.HeadSkipped); // the featurizer has no classifier
        Assert.Equal(110, report.Loaded); // 22 convolutions × (weight + 4 BatchNorm tensors): all but fc and the step counters
        using (no_grad()) // fc = identity: the network's output is then its 512-d pooled features
        {
            model.state_dict()["fc.weight"].copy_(eye(512));
            model.state_dict()["fc.bias"].zero_();
        }
        model.eval();
        using var input = weights.Preprocessing.Normalize(RealImages(4));

        float[] ours;
        using (no_grad()) ours = model.call(input).data<float>().ToArray();
        var onnx = OnnxRun(weights.Source, "Input247", "Pooling395_Output_0", input);

        var diff = MaxAbsDiff(ours, onnx);
        _output.WriteLine($"max abs diff {diff:g3} over {ours.Length} features; largest feature {onnx.Max():g3}"); // measured: 8.3e-6, 19.6
        Assert.True(diff <= 1e-3f, $"max abs diff {diff}");
        Assert.True(onnx.Max() > 0.5f, "features are all near zero: the comparison would prove nothing");
    }

    [Fact]
    public void The_multilevel_classifier_alone_loads_the_same_weights_and_reads_stages_2_3_and_4_pooled()
    {
        var multiLevel = ArchitectureRegistry.Get(ResNet18.ClassifierAlone!);
        var weights = PretrainedCatalog.Resolve(multiLevel, null)!;
        Assert.Equal(PretrainedCatalog.EmbeddedResNet18, weights.Name);
        using var model = multiLevel.Create(3);
        Assert.Equal(110, weights.LoadInto(model, multiLevel).Loaded); // every backbone tensor, by the same names
        using var plain = ResNet18.Create(3);
        weights.LoadInto(plain, ResNet18);
        model.eval();
        plain.eval();
        Tensor? read = null, last = null;
        var hook = ((nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == "fc").module)
            .register_forward_pre_hook((_, x) => { read = x.clone().DetachFromDisposeScope(); return x; });
        var lastHook = ((nn.Module<Tensor, Tensor>)plain.named_modules().Single(m => m.name == "fc").module)
            .register_forward_pre_hook((_, x) => { last = x.clone().DetachFromDisposeScope(); return x; });
        using var input = weights.Preprocessing.Normalize(RealImages(2));

        using (no_grad())
        {
            model.call(input);
            plain.call(input);
        }
        hook.remove();
        lastHook.remove();

        Assert.Equal([2L, 128 + 256 + 512], read!.shape);
        Assert.True(read[.., 384..].eq(last!).all().item<bool>(), "the last 512 values are, bit for bit, what resnet18_cntk's classifier reads");
        Assert.True(read[.., ..384].abs().max().item<float>() > 0.1f, "the stage 2 and 3 values carry something");
    }

    [Fact]
    public void An_architecture_without_embedded_weights_says_how_to_supply_them()
    {
        var e = Assert.Throws<NoPretrainedWeightsException>(() => PretrainedCatalog.Resolve(ArchitectureRegistry.Get("alexnet"), null));

        Assert.Contains("alexnet", e.Message);
        Assert.Contains(".pth", e.Message);
        Assert.Contains(PretrainedCatalog.Scratch, e.Message);
        Assert.Null(PretrainedCatalog.Resolve(ArchitectureRegistry.Get("alexnet"), PretrainedCatalog.Scratch));
    }
}

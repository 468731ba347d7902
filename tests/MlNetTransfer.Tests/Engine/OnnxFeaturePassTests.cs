using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The CPU's frozen-feature pass runs in ONNX Runtime: what it computes is what libtorch's pass
/// (<see cref="FrozenFeatureCache"/>, the classifier's input captured by a hook) computes, for every kind of network
/// and preprocessing, in dataset order, in any batch size.</summary>
[Collection(TorchRandomCollection.Name)]
public class OnnxFeaturePassTests
{
    public OnnxFeaturePassTests() => TorchRuntime.EnsureLoaded();

    static ImageTensorDataset RandomImages(int count, int side, int seed)
    {
        random.manual_seed(seed);
        var pixels = randint(0, 256, [count, 3, side, side], dtype: ScalarType.Byte);
        var labels = randint(0, 3, [count], dtype: ScalarType.Int64);
        return new ImageTensorDataset(pixels, labels, ["a", "b", "c"]);
    }

    /// <summary>libtorch's features: the classifier's input, captured while the whole network runs.</summary>
    static Tensor TorchFeatures(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing, ImageTensorDataset data)
    {
        var head = (nn.Module<Tensor, Tensor>)model.named_modules().Single(m => m.name == architecture.ClassifierPrefix).module;
        using var cache = FrozenFeatureCache.Build(model, head, preprocessing, data, 5, CPU);
        return cache.Features.clone();
    }

    public static TheoryData<string, int, bool> Networks => new()
    {
        { "tiny", 16, false },
        { "resnet18", 64, false },
        { "resnet18_cntk_multilevel", 64, true }, // several pooled stages concatenated; BGR, 0..255, a mean image
        { "mobilenet_v2", 64, false }, // the classifier inside a Sequential, after its dropout
        { "alexnet", 64, false }, // an adaptive pooling that is not global, and the last of three Linear layers
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Onnx_runtime_features_are_the_networks_own(string name, int side, bool cntkPreprocessing)
    {
        var architecture = ArchitectureRegistry.Get(name);
        random.manual_seed(3);
        using var model = architecture.Create(3);
        OnnxExportTests.RandomiseBatchNorm(model);
        model.eval();
        var preprocessing = cntkPreprocessing
            ? new Preprocessing(side, ChannelOrder.Bgr, 1f, [0f, 0f, 0f], [1f, 1f, 1f], Enumerable.Range(0, 3 * 8 * 8).Select(i => (float)(i % 17) * 5).ToArray(), 8)
            : Preprocessing.ImageNet(side);
        using var data = RandomImages(11, side, seed: 4);

        using var expected = TorchFeatures(model, architecture, preprocessing, data);
        using var actual = OnnxFeaturePass.Compute(model, architecture, preprocessing, data, batchSize: 4, cancellation: TestContext.Current.CancellationToken); // 4 + 4 + 3: a short last batch

        Assert.Equal(expected.shape, actual.shape);
        double scale = expected.abs().max().item<float>();
        double difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= 1e-4 * Math.Max(scale, 1), $"{name}: largest difference {difference:g3} (features up to {scale:g3})");
        Assert.True(scale > 0, $"{name}: all-zero features would prove nothing");
    }

    [Fact]
    public void Mirrored_features_are_those_of_the_mirror_images()
    {
        var architecture = ArchitectureRegistry.Get("resnet18");
        random.manual_seed(3);
        using var model = architecture.Create(3);
        OnnxExportTests.RandomiseBatchNorm(model);
        var preprocessing = Preprocessing.ImageNet(32);
        using var data = RandomImages(7, 32, seed: 5);
        using var flippedData = new ImageTensorDataset(data.Slice(0, data.Count).flip(3), data.Labels.clone(), ["a", "b", "c"]);

        using var expected = TorchFeatures(model, architecture, preprocessing, flippedData);
        using var asGiven = TorchFeatures(model, architecture, preprocessing, data);
        using var actual = OnnxFeaturePass.Compute(model, architecture, preprocessing, data, batchSize: 3, mirrored: true, cancellation: TestContext.Current.CancellationToken);

        Assert.True((expected - actual).abs().max().item<float>() <= 1e-4 * Math.Max(expected.abs().max().item<float>(), 1));
        Assert.True((asGiven - actual).abs().max().item<float>() > 1e-3, "random images and their mirror images should differ");
    }

    [Fact]
    public void A_cancelled_pass_stops_before_its_first_batch()
    {
        var architecture = ArchitectureRegistry.Get("tiny");
        random.manual_seed(3);
        using var model = architecture.Create(3);
        using var data = RandomImages(8, 16, seed: 4);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => OnnxFeaturePass.Compute(model, architecture, Preprocessing.Unit(16), data, 4, cancelled.Token));
    }

    [Fact]
    public void The_cpu_uses_onnx_runtime_unless_asked_for_libtorch()
    {
        Assert.Equal(Environment.GetEnvironmentVariable(OnnxFeaturePass.EnvironmentVariable) != "torch", OnnxFeaturePass.Applies(CPU));
        Assert.False(OnnxFeaturePass.Applies(new Device(TorchSharp.DeviceType.CUDA, 0))); // a GPU keeps libtorch's pass
    }
}

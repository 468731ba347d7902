using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetTransfer.Tests;

/// <summary>Test-time flip: the exported Score is the mean of the softmax of each image and of its mirror image, the
/// model says so for continued training, and the recipe's rule turns it on only when the validation split says the
/// average is better.</summary>
[Collection(TorchRandomCollection.Name)]
public class TestTimeFlipTests
{
    public TestTimeFlipTests() => TorchRuntime.EnsureLoaded();

    static string[] Classes(int count) => Enumerable.Range(0, count).Select(i => $"class{i}").ToArray();

    [Theory]
    [InlineData(null)] // symbolic batch, three images
    [InlineData(1L)] // ML.NET's fixed batch of one
    public void The_exported_score_is_the_mean_of_both_views_softmax(long? batch)
    {
        random.manual_seed(3);
        using var model = ArchitectureRegistry.Get("resnet18").Create(4);
        using (no_grad())
        using (var thirty = 30.ToScalar())
            model.named_parameters().Single(p => p.name == "fc.weight").parameter.mul_(thirty); // confident, view-sensitive scores
        model.eval();
        var preprocessing = Preprocessing.ImageNet(40);
        // a left-to-right ramp with noise: a mirror image a network tells apart from the image
        using var ramp = linspace(0, 245, 40).view(1, 1, 1, 40);
        using var pixels = rand(batch ?? 3, 3, 40, 40).Times(10).PlusInPlace(ramp);

        var onnx = OnnxExporter.Export(model, "resnet18", preprocessing, Classes(4), batch, new OnnxExportNames(), withLogits: true, testTimeFlip: true);

        using var session = new InferenceSession(onnx);
        var dense = new DenseTensor(pixels.contiguous().data<float>().ToArray(), pixels.shape.Select(d => (int)d).ToArray());
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, dense)]);
        var score = outputs.Single(o => o.Name == OnnxExporter.ScoreName).AsEnumerable<float>().ToArray();
        var predicted = outputs.Single(o => o.Name == OnnxExporter.PredictedIndexName).AsEnumerable<long>().ToArray();
        var onnxLogits = outputs.Single(o => o.Name == OnnxExporter.LogitsName).AsEnumerable<float>().ToArray();
        float[] expected, plain, logits;
        using (no_grad())
        {
            using var x = preprocessing.Normalize(pixels);
            using var y = model.call(x);
            using var mirrored = x.flip(3);
            using var yMirrored = model.call(mirrored);
            using var averaged = TestTimeFlip.Averaged(y, yMirrored);
            using var softmax = nn.functional.softmax(y, 1);
            (expected, plain, logits) = (averaged.data<float>().ToArray(), softmax.data<float>().ToArray(), y.data<float>().ToArray());
        }

        Assert.Equal(expected.Length, score.Length);
        Assert.True(MaxDiff(expected, score) <= 1e-4, $"score differs from the two views' mean by {MaxDiff(expected, score)}");
        Assert.True(MaxDiff(plain, score) > 1e-3, $"the mirror image made no difference ({MaxDiff(plain, score)}): the flip is not in the graph");
        Assert.True(MaxDiff(logits, onnxLogits) <= 1e-4 * Math.Max(1, logits.Max(Math.Abs)), "Logits are not those of the images as given");
        for (int row = 0; row < predicted.Length; row++)
        {
            var rowScores = score.Skip(row * 4).Take(4).ToList();
            Assert.Equal(rowScores.IndexOf(rowScores.Max()), predicted[row]);
        }
    }

    static float MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    [Fact]
    public void A_flipped_model_says_so_and_carries_the_same_weights_for_continued_training()
    {
        using var model = TinyModels.NewModel();

        var plain = OnnxGraph.Parse(OnnxExporter.Export(model, "tiny", TinyModels.Plain, Classes(3)));
        var flipped = OnnxGraph.Parse(OnnxExporter.Export(model, "tiny", TinyModels.Plain, Classes(3), testTimeFlip: true));

        Assert.False(OnnxMetadata.Read(plain, "plain.onnx").TestTimeFlip);
        Assert.True(OnnxMetadata.Read(flipped, "flipped.onnx").TestTimeFlip);
        static string[] Weights(OnnxGraph graph) =>
            graph.Initializers.Keys.Where(k => !k.StartsWith(OnnxModelBuilder.ConstantPrefix, StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(Weights(plain), Weights(flipped));
        Assert.Equal(model.state_dict().Keys.Where(k => !k.Contains("num_batches_tracked")).Order(), Weights(flipped));
    }

    /// <summary>Two classes by overall brightness; each image is brighter on one side by a random amount that says
    /// nothing about its class (mirror-symmetric data), or, with <paramref name="sideIsClass"/>, the bright side is
    /// the class (data a mirror image mislabels).</summary>
    static ImageTensorDataset Halves(bool sideIsClass, int count = 40)
    {
        var random = new Random(7);
        var pixels = new byte[count * 3 * 8 * 8];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            int level = sideIsClass ? 128 : labels[i] == 1 ? 180 : 76;
            int tilt = sideIsClass ? (labels[i] == 1 ? 100 : -100) : random.Next(-70, 71);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++)
                        pixels[((i * 3 + c) * 8 + y) * 8 + x] = (byte)(x < 4 ? level + tilt : level - tilt);
        }
        return new ImageTensorDataset(tensor(pixels, [count, 3, 8, 8]), tensor(labels), Classes(2));
    }

    /// <summary>Class 1's logit: brightness above the middle, plus the left half's excess over the right.</summary>
    sealed class BrightnessAndSide : nn.Module<Tensor, Tensor>
    {
        readonly double _brightness, _side;

        public BrightnessAndSide(double brightness, double side) : base(nameof(BrightnessAndSide)) => (_brightness, _side) = (brightness, side);

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            long half = x.shape[3] / 2;
            var excess = x.narrow(3, 0, half).mean([1, 2, 3]) - x.narrow(3, half, half).mean([1, 2, 3]);
            var score = x.mean([1, 2, 3]).Plus(-0.5).Times(_brightness).Plus(excess.Times(_side));
            return stack([zeros_like(score), score], 1).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void On_mirror_symmetric_data_the_averaged_views_win_on_validation_and_the_flip_is_on()
    {
        using var data = Halves(sideIsClass: false);
        using var model = new BrightnessAndSide(brightness: 10, side: 5); // the side term is noise the mirror cancels

        var decision = TestTimeFlip.Decide(null, model, Preprocessing.Unit(8), data, batchSize: 16, CPU);

        Assert.True(decision.Applied, decision.Reason);
        var m = decision.Measured!;
        Assert.True(m.Accuracy < 1, $"the side term should mislead some images alone: {m.Accuracy}");
        Assert.Equal(1, m.AveragedAccuracy);
        Assert.True(m.AveragedLoss < m.Loss);
        Assert.StartsWith("on: ", decision.Reason);
    }

    [Fact]
    public void When_the_side_is_the_class_the_mirror_image_hurts_and_the_flip_stays_off()
    {
        using var data = Halves(sideIsClass: true);
        using var model = new BrightnessAndSide(brightness: 0, side: 10);

        var decision = TestTimeFlip.Decide(null, model, Preprocessing.Unit(8), data, batchSize: 16, CPU);

        Assert.False(decision.Applied, decision.Reason);
        Assert.Equal(1, decision.Measured!.Accuracy);
        Assert.True(decision.Measured.AveragedLoss > decision.Measured.Loss);
        Assert.StartsWith("off: ", decision.Reason);
    }

    [Theory]
    [InlineData(0.374, 0.912, 0.368, 0.907, true)] // Fashion-MNIST 2 000's validation: two images fewer right, a lower loss
    [InlineData(0.601, 0.838, 0.611, 0.812, false)]
    [InlineData(0.500, 0.800, 0.510, 0.850, false)] // more right by chance, but a worse loss
    public void The_validation_loss_decides_not_the_accuracy(double loss, double accuracy, double averagedLoss, double averagedAccuracy, bool helps) =>
        Assert.Equal(helps, TestTimeFlip.Helps(new FlipDecision.Measurement(loss, accuracy, averagedLoss, averagedAccuracy)));

    [Fact]
    public void A_given_setting_is_kept_unmeasured_and_no_validation_split_means_off()
    {
        using var data = Halves(sideIsClass: true);
        using var model = new BrightnessAndSide(brightness: 0, side: 10);

        var forcedOn = TestTimeFlip.Decide(true, model, Preprocessing.Unit(8), data, 16, CPU);
        var forcedOff = TestTimeFlip.Decide(false, model, Preprocessing.Unit(8), data, 16, CPU);
        var unmeasured = TestTimeFlip.Decide(null, model, Preprocessing.Unit(8), null, 16, CPU);

        Assert.True(forcedOn.Applied);
        Assert.Null(forcedOn.Measured);
        Assert.False(forcedOff.Applied);
        Assert.Null(forcedOff.Measured);
        Assert.False(unmeasured.Applied);
        Assert.Contains("no validation split", unmeasured.Reason);
    }

    [Fact]
    public void Logits_computed_elsewhere_for_both_views_measure_what_the_network_measures_without_running_it()
    {
        // a head-only run on the CPU scores both views from features ONNX Runtime computed: the decision's numbers are
        // the network's own, and the network is not called
        using var data = Halves(sideIsClass: false);
        using var model = new BrightnessAndSide(brightness: 10, side: 5);
        var preprocessing = Preprocessing.Unit(8);
        var byNetwork = TestTimeFlip.Decide(null, model, preprocessing, data, batchSize: 16, CPU).Measured!;
        Tensor asGiven, mirrored;
        using (no_grad())
        {
            using var x = preprocessing.Normalize(data.Slice(0, data.Count));
            asGiven = model.call(x);
            using var flipped = x.flip(3);
            mirrored = model.call(flipped);
        }
        using var _ = asGiven;
        using var silent = new BrightnessAndSide(brightness: float.NaN, side: float.NaN); // NaN everywhere, were it called
        int calls = 0;

        var given = TestTimeFlip.Decide(null, silent, preprocessing, data, batchSize: 16, CPU, asGiven, () => { calls++; return mirrored; }).Measured!;

        Assert.Equal(1, calls);
        Assert.Equal(byNetwork.Loss, given.Loss, 6);
        Assert.Equal(byNetwork.Accuracy, given.Accuracy, 6);
        Assert.Equal(byNetwork.AveragedLoss, given.AveragedLoss, 6);
        Assert.Equal(byNetwork.AveragedAccuracy, given.AveragedAccuracy, 6);
        Assert.True(mirrored.IsInvalid, "Decide disposes the mirrored logits it asked for");
    }
}

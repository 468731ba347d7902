using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetTransfer.Tests;

/// <summary>Every registry architecture exports to ONNX with its preprocessing and softmax inside the graph, and
/// ONNX Runtime computes what TorchSharp computes.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class OnnxExportTests
{
    readonly ITestOutputHelper _output;

    public OnnxExportTests(ITestOutputHelper output)
    {
        TorchRuntime.EnsureLoaded();
        _output = output;
    }

    static string[] Classes(int count) => Enumerable.Range(0, count).Select(i => $"class{i}").ToArray();

    /// <summary>Random BatchNorm statistics, so an exporter that dropped or misread them would be caught.</summary>
    internal static void RandomiseBatchNorm(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not BatchNorm2d bn) continue;
            bn.running_mean!.uniform_(-0.3, 0.3);
            bn.running_var!.uniform_(0.5, 1.5);
            bn.weight.uniform_(0.5, 1.5);
            bn.bias!.uniform_(-0.3, 0.3);
        }
    }

    static (float[] Scores, long[] Predicted, float[] Logits) OnnxRun(byte[] model, Tensor pixels)
    {
        using var session = new InferenceSession(model);
        var dense = new DenseTensor(pixels.contiguous().data<float>().ToArray(), pixels.shape.Select(d => (int)d).ToArray());
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, dense)]);
        return (outputs.Single(o => o.Name == OnnxExporter.ScoreName).AsEnumerable<float>().ToArray(),
                outputs.Single(o => o.Name == OnnxExporter.PredictedIndexName).AsEnumerable<long>().ToArray(),
                outputs.Single(o => o.Name == OnnxExporter.LogitsName).AsEnumerable<float>().ToArray());
    }

    static (float[] Scores, float[] Logits) TorchRun(nn.Module<Tensor, Tensor> model, Preprocessing preprocessing, Tensor pixels)
    {
        model.eval();
        using var _ = no_grad();
        using var logits = model.call(preprocessing.Normalize(pixels));
        return (nn.functional.softmax(logits, 1).data<float>().ToArray(), logits.data<float>().ToArray());
    }

    void AssertSame(string what, (float[] Scores, float[] Logits) torch, (float[] Scores, long[] Predicted, float[] Logits) onnx, int classes)
    {
        var scoreDiff = torch.Scores.Zip(onnx.Scores).Max(p => Math.Abs(p.First - p.Second));
        // a saturated softmax hides errors, so logits are held to the same bound relative to their size
        var logitScale = Math.Max(1f, torch.Logits.Max(Math.Abs));
        var logitDiff = torch.Logits.Zip(onnx.Logits).Max(p => Math.Abs(p.First - p.Second)) / logitScale;
        _output.WriteLine($"{what}: scores max abs diff {scoreDiff:g3}; logits max diff {logitDiff:g3} of their largest |value| {logitScale:g3}");
        Assert.Equal(torch.Scores.Length, onnx.Scores.Length);
        Assert.True(scoreDiff <= 1e-4f, $"{what}: scores max abs diff {scoreDiff}");
        Assert.True(logitDiff <= 1e-4f, $"{what}: logits relative diff {logitDiff}");
        for (int row = 0; row < onnx.Predicted.Length; row++)
        {
            var scores = onnx.Scores.Skip(row * classes).Take(classes).ToList();
            Assert.Equal(scores.IndexOf(scores.Max()), onnx.Predicted[row]);
        }
    }

    [Theory]
    [InlineData("tiny", 20)]
    [InlineData("alexnet", 64)]
    [InlineData("resnet18", 40)]
    [InlineData("resnet18_cntk", 40)]
    [InlineData("resnet18_cntk_multilevel", 40)]
    [InlineData("resnet34", 32)]
    [InlineData("resnet50", 32)]
    [InlineData("mobilenet_v2", 40)]
    [InlineData("vgg16", 40)]
    public void Onnx_runtime_equals_torchsharp_on_random_pixels(string name, int side)
    {
        var architecture = ArchitectureRegistry.Get(name);
        random.manual_seed(11);
        using var model = architecture.Create(5);
        RandomiseBatchNorm(model);
        var preprocessing = Preprocessing.ImageNet(side);
        using var pixels = rand(2, 3, side, side).Times(255);

        var onnx = OnnxExporter.Export(model, name, preprocessing, Classes(5), batch: null, new OnnxExportNames(), withLogits: true);

        AssertSame($"{name} at {side} px", TorchRun(model, preprocessing, pixels), OnnxRun(onnx, pixels), 5);
        AssertUnfamiliarAsTheEngineSays(architecture, model, preprocessing);
    }

    /// <summary>The architecture's views for the unfamiliar flag (its mid-level tap and its classifier's input) come
    /// out of one ONNX pass as wide as the recipe sizes its sample, and the model exported with a familiarity sample
    /// fitted on them flags what the engine flags.</summary>
    static void AssertUnfamiliarAsTheEngineSays(Architecture architecture, nn.Module<Tensor, Tensor> model, Preprocessing preprocessing)
    {
        string[] taps = [architecture.FamiliarTap!, architecture.ClassifierPrefix];
        using var pixels = rand(6, 3, preprocessing.InputSize, preprocessing.InputSize).Times(255);
        using var labels = zeros(6, ScalarType.Int64);
        using var data = new ImageTensorDataset(pixels.to_type(ScalarType.Byte), labels, Classes(5));
        var views = Engine.Recipe.OnnxFeaturePass.Compute(model, architecture, preprocessing, data, 3, taps);
        var reference = views.Select(v => v.narrow(0, 0, 4)).ToList(); // four "training" images, two queries
        var queries = views.Select(v => v.narrow(0, 4, 2)).ToList();
        try
        {
            Assert.Equal(taps.Select(tap => Engine.Recipe.TransferRecipe.TapWidth(model, architecture, tap)), views.Select(v => v.shape[1]));
            // a random network's features barely vary, so no limit is fitted: each layer's lies between the two
            // queries' similarities (one flagged), or under both where they are too close for float rounding to agree
            var layers = taps.Select((tap, i) =>
            {
                using var unit = Engine.Health.Outliers.Normalized(reference[i]);
                var similarity = Engine.Health.Outliers.KthNearest(Engine.Health.Outliers.Normalized(queries[i]), unit, 3).Select(d => 1 - d).ToArray();
                double limit = Math.Abs(similarity[0] - similarity[1]) > 1e-3 ? similarity.Average() : similarity.Min() - 0.01;
                return new Engine.Recipe.FamiliarLayer(tap, (int)unit.shape[1], unit.contiguous().data<float>().ToArray(), limit, 0);
            }).ToList();
            var familiarity = new Engine.Recipe.Familiarity(layers, 4, 3, "training", 4, 0);
            var expected = familiarity.Unfamiliar(queries);

            var onnx = OnnxExporter.Export(model, architecture.Name, preprocessing, Classes(5), batch: null, familiarity: familiarity);
            using var session = new InferenceSession(onnx);
            using var asRead = pixels.to_type(ScalarType.Byte).to_type(ScalarType.Float32).narrow(0, 4, 2).contiguous();
            var dense = new DenseTensor(asRead.data<float>().ToArray(), asRead.shape.Select(d => (int)d).ToArray());
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, dense)]);
            Assert.Equal(expected.Select(f => f ? 1L : 0L), outputs.Single(o => o.Name == OnnxExporter.UnfamiliarName).AsEnumerable<long>());
        }
        finally
        {
            foreach (var t in views.Concat(reference).Concat(queries)) t.Dispose();
        }
    }

    [Fact]
    public void The_embedded_resnets_mean_image_preprocessing_is_inside_the_graph_real_images()
    {
        // the classifier alone of the default: the multilevel network, pretrained stages and all
        var architecture = ArchitectureRegistry.Get(ArchitectureRegistry.Get(FineTuneOptions.Defaults.Architecture).ClassifierAlone!);
        var weights = PretrainedCatalog.Resolve(architecture, null)!;
        using var model = architecture.Create(10);
        weights.LoadInto(model, architecture);
        var preprocessing = weights.Preprocessing.At(96);
        using var test = SampleImages.Load("test", 96);
        using var pixels = test.Slice(0, 8).to_type(ScalarType.Float32);

        var onnx = OnnxExporter.Export(model, architecture.Name, preprocessing, test.ClassNames, batch: null, new OnnxExportNames(), withLogits: true);

        AssertSame($"{architecture.Name}, real images at 96 px", TorchRun(model, preprocessing, pixels), OnnxRun(onnx, pixels), 10);
    }

    [Fact]
    public void Write_is_atomic_and_leaves_no_temporary_file()
    {
        using var temp = new TempDirectory();
        using var model = ArchitectureRegistry.Get("tiny").Create(3);

        OnnxExporter.Write(model, "tiny", Preprocessing.Unit(16), Classes(3), temp.File("model.onnx"));

        Assert.Equal(new[] { temp.File("model.onnx") }, Directory.GetFiles(temp.Path));
        Assert.Equal(OnnxExporter.Export(model, "tiny", Preprocessing.Unit(16), Classes(3)), File.ReadAllBytes(temp.File("model.onnx")));
    }

    [Fact]
    public void A_class_count_that_does_not_match_the_head_is_refused()
    {
        using var model = ArchitectureRegistry.Get("tiny").Create(3);

        var e = Assert.Throws<InvalidOperationException>(() => OnnxExporter.Export(model, "tiny", Preprocessing.Unit(16), Classes(4)));

        Assert.Contains("3 outputs", e.Message);
    }

    [Fact]
    public void An_exported_model_is_a_weights_file_and_says_what_it_is()
    {
        using var temp = new TempDirectory();
        var arch = ArchitectureRegistry.Get("resnet18_cntk");
        var weights = PretrainedCatalog.Resolve(arch, null)!;
        using var model = arch.Create(3);
        weights.LoadInto(model, arch);
        RandomiseBatchNorm(model);
        OnnxExporter.Write(model, arch.Name, weights.Preprocessing.At(64), ["b", "a", "c"], temp.File("m.onnx"));

        var metadata = OnnxMetadata.Read(OnnxGraph.Load(temp.File("m.onnx")), "m.onnx");
        using var reloaded = arch.Create(3);
        var report = WeightLoader.LoadFile(reloaded, arch, temp.File("m.onnx"));

        Assert.Equal("resnet18_cntk", metadata.Architecture);
        Assert.Equal(new[] { "b", "a", "c" }, metadata.ClassNames);
        Assert.Equal(64, metadata.Preprocessing.InputSize);
        Assert.Equal(weights.Preprocessing.MeanImage, metadata.Preprocessing.MeanImage);
        Assert.False(report.HeadSkipped);
        var a = model.state_dict();
        var b = reloaded.state_dict();
        Assert.All(a.Keys.Where(k => !k.EndsWith("num_batches_tracked")), k => Assert.True(a[k].allclose(b[k], rtol: 0, atol: 0), k));
    }
}

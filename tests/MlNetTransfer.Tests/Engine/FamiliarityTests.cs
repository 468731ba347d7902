using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;

namespace MlNetTransfer.Tests;

/// <summary>What lets a saved model say "unfamiliar": the sample of training features, the limit measured on images
/// the sample does not hold, and the exported graph's flag, which must be the engine's own.</summary>
[Collection(TorchRandomCollection.Name)]
public class FamiliarityTests
{
    public FamiliarityTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Points around <paramref name="centres"/>' rows (unit length) with a spread of 0.15 in each of 16 dimensions.</summary>
    static Tensor Around(Tensor centres, int perCentre, int seed)
    {
        using var generator = new Generator((ulong)seed);
        using var repeated = centres.repeat_interleave(perCentre, 0);
        using var noise = randn([repeated.shape[0], centres.shape[1]], generator: generator);
        using var scaled = noise.Times(0.15);
        return repeated.Plus(scaled);
    }

    /// <summary>Unit vectors along the axes <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1
    /// of 16 dimensions: clusters as far apart as clusters get.</summary>
    static Tensor Centres(int count, int first)
    {
        using var identity = eye(16);
        return identity.narrow(0, first, count).contiguous();
    }

    [Fact]
    public void The_limit_is_measured_on_the_validation_images_and_flags_points_of_a_cluster_the_training_never_had()
    {
        using var known = Centres(3, 0);
        using var train = Around(known, 60, 2);
        using var validation = Around(known, 30, 3);
        using var fresh = Around(known, 100, 4);
        using var unknown = Centres(2, 8);
        using var foreign = Around(unknown, 50, 5);

        var familiarity = Familiarity.Fit([("fc", train, validation)])!;
        var freshFlags = familiarity.Unfamiliar([fresh]);
        var foreignFlags = familiarity.Unfamiliar([foreign]);

        Assert.Equal(("validation", 90, 180, 16, 5), (familiarity.Basis, familiarity.Measured, familiarity.Rows, Assert.Single(familiarity.Layers).Width, familiarity.Neighbours));
        Assert.True(familiarity.Flagged <= 3, familiarity.Describe());
        Assert.False(familiarity.Layers[0].AtFarthest, familiarity.Describe()); // no near copies: the robust spread sets it
        Assert.True(freshFlags.Count(f => f) <= 6, $"{freshFlags.Count(f => f)} of 300 fresh draws of the training clusters flagged; {familiarity.Describe()}");
        Assert.True(foreignFlags.Count(f => f) >= 95, $"{foreignFlags.Count(f => f)} of 100 points of other clusters flagged; {familiarity.Describe()}");
        var reference = familiarity.Layers[0].Reference;
        Assert.Equal(180 * 16, reference.Length);
        Assert.All(Enumerable.Range(0, 180), r => Assert.Equal(1, Math.Sqrt(reference.Skip(r * 16).Take(16).Sum(v => v * v)), 4));
    }

    /// <summary>Training data full of near copies, as burst photos, video frames or an icon in twelve colours give:
    /// per cluster, 20 images with 6 near copies each (noise 0.005) and 20 images alone.</summary>
    internal static Tensor WithNearCopies(Tensor centres, int seed)
    {
        using var originals = Around(centres, 20, seed);
        using var repeated = originals.repeat_interleave(7, 0);
        using var generator = new Generator((ulong)seed + 100);
        using var noise = randn([repeated.shape[0], centres.shape[1]], generator: generator);
        using var jitter = noise.Times(0.005);
        using var copies = repeated.Plus(jitter);
        using var alone = Around(centres, 20, seed + 200);
        return cat([copies, alone], 0);
    }

    [Fact]
    public void On_data_full_of_near_copies_the_limit_stays_outside_the_validation_images_and_fresh_draws_stay_familiar()
    {
        using var known = Centres(3, 0);
        using var train = WithNearCopies(known, 2);
        using var copied = train.narrow(0, 0, 90).Plus(0.001); // most validation images have copies in training …
        using var drawn = Around(known, 10, 3);                // … a quarter none
        using var validation = cat([copied, drawn], 0);
        using var fresh = Around(known, 100, 4);
        using var foreign = Around(Centres(2, 8), 50, 5);

        var familiarity = Familiarity.Fit([("fc", train, validation)])!;

        // the median and its deviation alone would set the limit among ordinary images: every one without a copy past it
        var distances = Outliers.KthNearest(Outliers.Normalized(validation), Outliers.Normalized(train), familiarity.Neighbours);
        var (median, mad) = Outliers.RobustSpread(distances);
        Assert.True(distances.Count(d => d > median + Familiarity.Spread * mad) >= 25, $"median {median}, deviation {mad}");
        Assert.True(familiarity.Flagged <= 120 * Outliers.MostPastUnfamiliarLimit, familiarity.Describe());
        Assert.True(familiarity.Layers[0].AtFarthest);
        Assert.Contains("set by the farthest 0.5 %: the robust spread alone would put more past it", familiarity.Describe());
        Assert.True(familiarity.Unfamiliar([fresh]).Count(f => f) <= 15, $"{familiarity.Unfamiliar([fresh]).Count(f => f)} of 300 fresh draws flagged; {familiarity.Describe()}");
        Assert.True(familiarity.Unfamiliar([foreign]).Count(f => f) >= 95, familiarity.Describe());
    }

    [Fact]
    public void When_most_validation_images_are_exact_copies_of_training_images_the_farthest_ones_still_set_a_limit()
    {
        // a folder oversampled by copying files before the split: each copied image has 6 identical training twins, so
        // most validation images lie at distance exactly 0 (no robust deviation at all) and the farthest set the limit
        using var known = Centres(3, 0);
        using var copied = known.repeat_interleave(6, 0);
        using var alone = Around(known, 20, 2);
        using var train = cat([copied, alone], 0);
        using var twins = known.repeat(17, 1);
        using var drawn = Around(known, 10, 3);
        using var validation = cat([twins, drawn], 0);
        using var fresh = Around(known, 100, 4);
        using var foreign = Around(Centres(2, 8), 50, 5);

        var distances = Outliers.KthNearest(Outliers.Normalized(validation), Outliers.Normalized(train), Outliers.Neighbours);
        Assert.Equal((0.0, 0.0), Outliers.RobustSpread(distances));
        var familiarity = Familiarity.Fit([("fc", train, validation)]);

        Assert.NotNull(familiarity);
        Assert.True(familiarity.Layers[0].AtFarthest, familiarity.Describe());
        Assert.Equal(0, familiarity.Flagged);
        Assert.True(familiarity.Unfamiliar([fresh]).Count(f => f) <= 15, $"{familiarity.Unfamiliar([fresh]).Count(f => f)} of 300 fresh draws flagged; {familiarity.Describe()}");
        Assert.True(familiarity.Unfamiliar([foreign]).Count(f => f) >= 95, familiarity.Describe());
    }

    [Fact]
    public void Without_enough_validation_images_the_training_images_own_distances_set_the_limit_and_too_few_images_set_none()
    {
        using var known = Centres(3, 0);
        using var train = Around(known, 60, 2);
        using var validation = Around(known, 5, 3); // 15: under MinValidation

        var familiarity = Familiarity.Fit([("fc", train, validation)])!;

        Assert.Equal(("training", 180), (familiarity.Basis, familiarity.Measured));
        using var one = train.narrow(0, 0, 1);
        Assert.Null(Familiarity.Fit([("fc", one, validation)])); // no neighbour to measure a distance to
        using var same = known.narrow(0, 1, 1).repeat(10, 1);
        Assert.Null(Familiarity.Fit([("fc", same, null)])); // every distance 0: no spread to set a limit by
    }

    [Fact]
    public void The_sample_is_every_image_or_a_seeded_draw_bounded_by_rows_and_by_values()
    {
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Familiarity.Sample(10, 512, seed: 1));
        var drawn = Familiarity.Sample(5000, 512, seed: 1);
        Assert.Equal(Familiarity.MaxRows, drawn.Length);
        Assert.Equal(drawn.Order(), drawn); // in order, each once, within range
        Assert.Equal(drawn.Length, drawn.Distinct().Count());
        Assert.InRange(drawn.Min(), 0, 4999);
        Assert.InRange(drawn.Max(), 0, 4999);
        Assert.Equal(drawn, Familiarity.Sample(5000, 512, seed: 1));
        Assert.NotEqual(drawn, Familiarity.Sample(5000, 512, seed: 2));
        Assert.Equal(Familiarity.MaxValues / 4288, Familiarity.Sample(5000, 4288, seed: 1).Length); // AlexNet's 4 096 + 192 features
        Assert.Equal(300, Familiarity.Sample(5000, 512, seed: 1, maxRows: 300).Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the flip doubles the batch: the flag is of the images as given
    public void The_exported_graph_flags_exactly_the_images_the_engine_flags(bool testTimeFlip)
    {
        using var model = TinyModels.NewModel();
        model.eval();
        var preprocessing = TinyModels.Plain;
        using var generator = new Generator(7);
        // training images: bright noise; the queries: more of it, and flat dark images the network has never seen
        using var train = rand([40, 3, 16, 16], generator: generator).Times(80).PlusInPlace(150);
        using var validation = rand([24, 3, 16, 16], generator: generator).Times(80).PlusInPlace(150);
        using var alike = rand([6, 3, 16, 16], generator: generator).Times(80).PlusInPlace(150);
        using var dark = rand([6, 3, 1, 1], generator: generator).Times(40).expand(6, 3, 16, 16).contiguous();
        using var queries = cat([alike, dark], 0);
        var trainFeatures = Features(model, train);
        var validationFeatures = Features(model, validation);
        var queryFeatures = Features(model, queries);
        var familiarity = Familiarity.Fit([.. Taps.Select((tap, i) => (tap, trainFeatures[i], (Tensor?)validationFeatures[i]))])!;
        var expected = familiarity.Unfamiliar(queryFeatures);
        foreach (var t in trainFeatures.Concat(validationFeatures).Concat(queryFeatures)) t.Dispose();

        var onnx = OnnxExporter.Export(model, "tiny", preprocessing, ["a", "b", "c"], testTimeFlip: testTimeFlip, familiarity: familiarity);
        using var session = new InferenceSession(onnx);
        var dense = new DenseTensor(queries.contiguous().data<float>().ToArray(), queries.shape.Select(d => (int)d).ToArray());
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, dense)]);
        var flags = outputs.Single(o => o.Name == OnnxExporter.UnfamiliarName).AsEnumerable<long>().ToArray();

        Assert.Equal(expected.Select(f => f ? 1L : 0L), flags);
        Assert.Contains(0L, flags.Take(6)); // images like the training ones pass …
        Assert.All(flags.Skip(6), f => Assert.Equal(1L, f)); // … flat dark ones do not
        Assert.Equal(OnnxGraph.Parse(OnnxExporter.Export(model, "tiny", preprocessing, ["a", "b", "c"])).Weights.Select(w => w.Name).Order(),
            OnnxGraph.Parse(onnx).Weights.Select(w => w.Name).Order()); // the sample is a constant, not a weight continued training would load
    }

    static readonly string[] Taps = ["features.4", "classifier"];

    /// <summary>The second block's input averaged over the image, and the classifier's, as the recipe computes them.</summary>
    static Tensor[] Features(nn.Module<Tensor, Tensor> model, Tensor pixels)
    {
        using var labels = zeros(pixels.shape[0], ScalarType.Int64);
        using var data = new ImageTensorDataset(pixels.to_type(ScalarType.Byte), labels, ["a", "b", "c"]);
        return OnnxFeaturePass.Compute(model, TinyModels.Tiny, TinyModels.Plain, data, 16, Taps);
    }

    [Fact]
    public void The_mid_level_view_is_the_networks_feature_map_below_the_tap_averaged_over_the_image()
    {
        using var model = TinyModels.NewModel();
        model.eval();
        using var generator = new Generator(8);
        using var pixels = rand([5, 3, 16, 16], generator: generator).Times(255);
        var views = Features(model, pixels);
        using var _ = views[0];
        using var __ = views[1];

        using var scope = NewDisposeScope();
        using var no = no_grad();
        var x = TinyModels.Plain.Normalize(pixels.to_type(ScalarType.Byte).to_type(ScalarType.Float32));
        var features = (nn.Module<Tensor, Tensor>)model.named_children().Single(c => c.name == "features").module;
        foreach (var (name, layer) in features.named_children().Take(4)) x = ((nn.Module<Tensor, Tensor>)layer).call(x);
        var expected = x.mean([2, 3]);

        Assert.Equal(new long[] { 5, 8 }, views[0].shape);
        Assert.True(expected.sub(views[0]).abs().max().item<float>() < 1e-4f, "the pooled map differs from the network's");
        Assert.Equal(new long[] { 5, 16 }, views[1].shape);
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>
/// Exports a fine-tuned network as a self-contained ONNX classifier: input <see cref="InputName"/> is planar RGB
/// pixels on the 0..255 scale, [batch, 3, S, S] (what ML.NET's ExtractPixels gives without offset or scale); the
/// weights' preprocessing (channel order, pixel scale, mean image, mean/std) runs inside the graph; outputs are
/// <see cref="ScoreName"/>, the softmax [batch, classes], and <see cref="PredictedIndexName"/>, the arg-max
/// [batch, 1] (never rank 0, which OnnxTransformer cannot read). With the test-time flip the network runs on the
/// images and their mirror images as one batch and Score is the mean of the two softmaxes
/// (<see cref="Recipe.TestTimeFlip"/>).
/// </summary>
public static class OnnxExporter
{
    public const string InputName = "pixels";
    public const string ScoreName = "Score";
    public const string PredictedIndexName = "PredictedIndex";
    public const string UnfamiliarName = "Unfamiliar";
    internal const string LogitsName = "Logits";

    /// <summary>The ONNX model as bytes. <paramref name="batch"/> fixes the batch dimension (ML.NET's OnnxTransformer
    /// scores one row at a time: 1); null leaves it symbolic. <paramref name="names"/> renames the input and outputs
    /// (ML.NET binds them to columns of the same names). <paramref name="testTimeFlip"/> averages each image's
    /// softmax with its mirror image's. <paramref name="temperature"/> calibrates Score
    /// (<see cref="Recipe.TemperatureScaling"/>: the probabilities raised to 1/T and renormalised; 1: as they are).
    /// <paramref name="familiarity"/>, when given, adds the output <see cref="UnfamiliarName"/>: [batch, 1] int64, 1 for
    /// an image unlike the training images (<see cref="Recipe.Familiarity"/>, on the image as given).</summary>
    public static byte[] Export(nn.Module<Tensor, Tensor> model, string architecture, Preprocessing preprocessing,
        IReadOnlyList<string> classNames, long? batch = null, OnnxExportNames? names = null, bool testTimeFlip = false, double temperature = 1,
        Recipe.Familiarity? familiarity = null) =>
        Export(model, architecture, preprocessing, classNames, batch, names ?? new OnnxExportNames(), withLogits: false, testTimeFlip, temperature, familiarity);

    /// <summary><paramref name="withLogits"/> adds the pre-softmax output <see cref="LogitsName"/> (of the images as
    /// given), for tests that must see past a saturated softmax.</summary>
    internal static byte[] Export(nn.Module<Tensor, Tensor> model, string architecture, Preprocessing preprocessing,
        IReadOnlyList<string> classNames, long? batch, OnnxExportNames names, bool withLogits, bool testTimeFlip = false, double temperature = 1,
        Recipe.Familiarity? familiarity = null)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be a positive number");
        model.eval();
        bool calibrated = temperature != 1;
        var uncalibrated = calibrated ? "uncalibrated_score" : names.Score;
        int classCount = classNames.Count, side = preprocessing.InputSize;
        var onnx = new OnnxModelBuilder("mlnettransfer");
        onnx.Value(true, names.Input, true, [batch, 3, side, side]);

        var x = Normalized(onnx, preprocessing, names.Input);

        if (testTimeFlip)
        {
            // [x; x mirrored along the width] as one batch of 2N
            var mirrored = onnx.Node("Slice", [x,
                onnx.Initializer(OnnxModelBuilder.Constant("flip_starts"), new long[] { -1 }, 1),
                onnx.Initializer(OnnxModelBuilder.Constant("flip_ends"), new long[] { long.MinValue }, 1),
                onnx.Initializer(OnnxModelBuilder.Constant("flip_axes"), new long[] { 3 }, 1),
                onnx.Initializer(OnnxModelBuilder.Constant("flip_steps"), new long[] { -1 }, 1)]);
            x = onnx.Node("Concat", [x, mirrored], null, ("axis", 0L));
        }

        using var emitter = new ModuleEmitter(onnx) { Shape = (3, side, side) }; // holds the weights until Build
        foreach (var layer in familiarity?.Layers ?? []) emitter.Taps[layer.Tap] = null;
        string logits;
        using (no_grad()) logits = emitter.EmitNetwork(model, ArchitectureRegistry.Get(architecture).Form, x);
        if (emitter.Features != classCount)
            throw new InvalidOperationException($"the network ends in {emitter.Features} outputs, not the {classCount} classes it was trained for");

        if (testTimeFlip)
        {
            // the 2N softmaxes as [2, N, C], averaged over the two views; the logits of the images as given for tests
            var both = onnx.Node("Softmax", [logits], null, ("axis", 1L));
            var views = onnx.Node("Reshape", [both, onnx.Initializer(OnnxModelBuilder.Constant("flip_views"), new long[] { 2, -1, classCount }, 3)]);
            onnx.Node("ReduceMean", [views], uncalibrated, ("axes", new long[] { 0 }), ("keepdims", 0L));
            onnx.Node("ArgMax", [uncalibrated], names.PredictedIndex, ("axis", 1L), ("keepdims", 1L));
            if (withLogits)
            {
                var halves = onnx.Node("Reshape", [logits, onnx.Initializer(OnnxModelBuilder.Constant("flip_logit_views"), new long[] { 2, -1, classCount }, 3)]);
                logits = onnx.Node("Gather", [halves, onnx.Initializer(OnnxModelBuilder.Constant("flip_first_view"), new long[] { 0 })], null, ("axis", 0L));
            }
        }
        else
        {
            onnx.Node("Softmax", [logits], uncalibrated, ("axis", 1L));
            onnx.Node("ArgMax", [logits], names.PredictedIndex, ("axis", 1L), ("keepdims", 1L));
        }
        if (calibrated)
        {
            // Score = softmax(log(max(p, floor)) / T): the scores calibrated, the prediction (taken above) unchanged
            var floored = onnx.Node("Max", [uncalibrated, onnx.Initializer(OnnxModelBuilder.Constant("calibration_floor"), [(float)Recipe.TemperatureScaling.Floor])]);
            var scaled = onnx.Node("Mul", [onnx.Node("Log", [floored]), onnx.Initializer(OnnxModelBuilder.Constant("calibration_scale"), [(float)(1 / temperature)])]);
            onnx.Node("Softmax", [scaled], names.Score, ("axis", 1L));
        }
        onnx.Value(false, names.Score, true, [batch, classCount]);
        onnx.Value(false, names.PredictedIndex, false, [batch, 1]);
        if (familiarity != null)
        {
            var flags = familiarity.Layers.Select(layer => emitter.Taps[layer.Tap] is var (value, width) && width == layer.Width
                ? Unfamiliar(onnx, familiarity, layer, value, testTimeFlip)
                : throw new InvalidOperationException($"{layer.Tap}'s input is not {layer.Width} features wide here, as the familiarity sample's")).ToList();
            var any = flags.Skip(1).Aggregate(flags[0], (a, b) => onnx.Node("Or", [a, b]));
            onnx.Node("Cast", [any], names.Unfamiliar, ("to", 7L)); // int64: OnnxTransformer reads it as the arg-max is read
            onnx.Value(false, names.Unfamiliar, false, [batch, 1]);
        }
        if (withLogits)
        {
            onnx.Node("Identity", [logits], LogitsName);
            onnx.Value(false, LogitsName, true, [batch, classCount]);
        }
        OnnxMetadata.Write(onnx, architecture, classNames, preprocessing, testTimeFlip, temperature, familiarity?.Describe());
        return onnx.Build("MlNetTransfer", Runtime.ProductInfo.Version);
    }

    /// <summary>The network up to its classifier: 0–255 RGB pixels [N, 3, side, side] in (input
    /// <see cref="FeaturesInputName"/>, any N), the classifier's inputs [N, width] out (<see cref="FeaturesName"/>) —
    /// what <see cref="Training.FrozenFeatureCache"/> captures, for ONNX Runtime to compute.</summary>
    internal static byte[] ExportFeatures(nn.Module<Tensor, Tensor> model, string architecture, string classifierPrefix, Preprocessing preprocessing,
        out long width)
    {
        var graph = ExportTaps(model, architecture, [classifierPrefix], preprocessing, out var widths);
        width = widths[0];
        return graph;
    }

    /// <summary>The network up to its classifier, with the input of each module of <paramref name="taps"/> out
    /// (<see cref="TapName"/>, [N, width]; a feature map averaged over the image); the classifier's prefix names its input.</summary>
    internal static byte[] ExportTaps(nn.Module<Tensor, Tensor> model, string architecture, IReadOnlyList<string> taps, Preprocessing preprocessing,
        out long[] widths)
    {
        model.eval();
        int side = preprocessing.InputSize;
        var onnx = new OnnxModelBuilder("mlnettransfer-features");
        onnx.Value(true, FeaturesInputName, true, [null, 3, side, side]);
        var registered = ArchitectureRegistry.Get(architecture);
        using var emitter = new ModuleEmitter(onnx) { Shape = (3, side, side), StopAt = registered.ClassifierPrefix };
        foreach (var tap in taps) emitter.Taps[tap] = null;
        using (no_grad()) emitter.EmitNetwork(model, registered.Form, Normalized(onnx, preprocessing, FeaturesInputName));
        widths = new long[taps.Count];
        for (int i = 0; i < taps.Count; i++)
        {
            var (value, width) = emitter.Taps[taps[i]] ?? throw new InvalidOperationException($"{architecture}: no module named {taps[i]} on the forward path");
            widths[i] = width;
            onnx.Node("Identity", [value], TapName(i));
            onnx.Value(false, TapName(i), true, [null, width]);
        }
        return onnx.Build("MlNetTransfer", Runtime.ProductInfo.Version);
    }

    /// <summary>The output of <see cref="ExportTaps"/>' <paramref name="index"/>-th tap.</summary>
    internal static string TapName(int index) => index == 0 ? FeaturesName : $"{FeaturesName}{index}";

    internal const string FeaturesInputName = "pixels", FeaturesName = "features";

    /// <summary>Whether ([N, 1] bool) the <see cref="Recipe.Familiarity.Neighbours"/>-th largest cosine similarity of
    /// <paramref name="features"/> to the <paramref name="layer"/>'s sample is under its limit; with the test-time flip,
    /// of the images as given.</summary>
    static string Unfamiliar(OnnxModelBuilder onnx, Recipe.Familiarity familiarity, Recipe.FamiliarLayer layer, string features, bool testTimeFlip)
    {
        long width = layer.Width, rows = familiarity.Rows;
        string Constant(string name) => OnnxModelBuilder.Constant($"familiar_{layer.Tap}_{name}");
        if (testTimeFlip)
        {
            var views = onnx.Node("Reshape", [features, onnx.Initializer(Constant("views"), new long[] { 2, -1, width }, 3)]);
            features = onnx.Node("Gather", [views, onnx.Initializer(Constant("first_view"), new long[] { 0 })], null, ("axis", 0L));
        }
        // unit length as torch's normalize makes it: x / max(‖x‖, 1e-12)
        var norm = onnx.Node("ReduceL2", [features], null, ("axes", new long[] { 1 }), ("keepdims", 1L));
        var unit = onnx.Node("Div", [features, onnx.Node("Max", [norm, onnx.Initializer(Constant("epsilon"), [1e-12f])])]);
        var transposed = new float[layer.Reference.Length];
        for (long r = 0; r < rows; r++)
        for (long c = 0; c < width; c++)
            transposed[c * rows + r] = layer.Reference[r * width + c];
        var similarity = onnx.Node("MatMul", [unit, onnx.Initializer(Constant("features"), transposed, width, rows)]);
        long k = familiarity.Neighbours;
        var nearest = onnx.NodeOutputs("TopK", [similarity, onnx.Initializer(Constant("neighbours"), new long[] { k }, 1)],
            [onnx.Name("nearest"), onnx.Name("nearest_rows")], ("axis", 1L), ("largest", 1L), ("sorted", 1L))[0];
        var kth = onnx.Node("Slice", [nearest,
            onnx.Initializer(Constant("kth_start"), new long[] { k - 1 }, 1),
            onnx.Initializer(Constant("kth_end"), new long[] { k }, 1),
            onnx.Initializer(Constant("kth_axis"), new long[] { 1 }, 1)]);
        return onnx.Node("Less", [kth, onnx.Initializer(Constant("min_similarity"), [(float)layer.MinSimilarity])]);
    }

    /// <summary>The preprocessing as graph nodes: channel order, pixel scale, mean image, channel mean and deviation.</summary>
    static string Normalized(OnnxModelBuilder onnx, Preprocessing preprocessing, string x)
    {
        int side = preprocessing.InputSize;
        if (preprocessing.ChannelOrder == ChannelOrder.Bgr)
            x = onnx.Node("Gather", [x, onnx.Initializer(OnnxModelBuilder.Constant("bgr_order"), new long[] { 2, 1, 0 }, 3)], null, ("axis", 1L));
        if (preprocessing.PixelScale != 1f)
            x = onnx.Node("Mul", [x, onnx.Initializer(OnnxModelBuilder.Constant("pixel_scale"), [preprocessing.PixelScale])]);
        if (preprocessing.MeanImage != null)
            x = onnx.Node("Sub", [x, onnx.Initializer(OnnxModelBuilder.Constant("mean_image"), MeanImageAt(preprocessing, side), 1, 3, side, side)]);
        if (preprocessing.Mean.Any(m => m != 0))
            x = onnx.Node("Sub", [x, onnx.Initializer(OnnxModelBuilder.Constant("channel_mean"), preprocessing.Mean, 1, 3, 1, 1)]);
        if (preprocessing.Std.Any(s => s != 1))
            x = onnx.Node("Div", [x, onnx.Initializer(OnnxModelBuilder.Constant("channel_std"), preprocessing.Std, 1, 3, 1, 1)]);
        return x;
    }

    /// <summary>Writes the model to <paramref name="path"/> atomically (a sibling temporary file, then a rename), so a
    /// crash never leaves a half-written file where the user expects a model.</summary>
    public static void Write(nn.Module<Tensor, Tensor> model, string architecture, Preprocessing preprocessing,
        IReadOnlyList<string> classNames, string path, long? batch = null) =>
        AtomicFile.Write(path, Export(model, architecture, preprocessing, classNames, batch));

    static float[] MeanImageAt(Preprocessing preprocessing, int side)
    {
        using var scope = NewDisposeScope();
        var size = preprocessing.MeanImageSize;
        var mean = tensor(preprocessing.MeanImage!).view(1, 3, size, size);
        if (size != side)
            mean = nn.functional.interpolate(mean, size: [side, side], mode: InterpolationMode.Bilinear, align_corners: false);
        return mean.contiguous().data<float>().ToArray();
    }
}

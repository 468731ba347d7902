using MlNetTransfer.Engine.Onnx;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>
/// Imports the ImageNet ResNet that NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> ships as a CNTK 2.6
/// ONNX export (opset 8, 512-d pooled output, no classifier) into torchvision's ResNet state_dict names, for the
/// <c>resnet18_cntk</c> architecture: the export has three basic blocks in its last stage (2-2-2-3), not
/// torchvision's 2-2-2-2. It lists each stage's downsample convolution before the block's own, so convolutions are
/// matched by role, not position: 7×7 and 3×3 convs in graph order are conv1, layer1.0.conv1, layer1.0.conv2, …;
/// 1×1 convs are layer2.0.downsample.0, layer3…, layer4…; each BatchNormalization follows the conv that feeds it.
/// Its asymmetric pads ([3,3,2,2] on the stem, [1,1,0,0] on stride-2 convs and the max-pool) select the same
/// windows as torchvision's symmetric ones at 224 px; a test holds the imported features to ONNX Runtime's.
/// </summary>
public static class CntkResNet18Import
{
    /// <summary>Basic blocks per stage in the export.</summary>
    public static readonly int[] StageDepths = [2, 2, 2, 3];

    static readonly string[] Blocks = StageDepths.SelectMany((depth, stage) => Enumerable.Range(0, depth).Select(b => $"layer{stage + 1}.{b}")).ToArray();

    /// <summary>The ImageNet ResNet of the featurizer package, as the <c>resnet18_cntk</c> row declares it: the network
    /// from ResNet18Onnx/ResNet18.onnx, the preprocessing (BGR 0..255 minus a 224×224 mean image) from
    /// ResNetPrepOnnx/ResNetPreprocess.onnx.</summary>
    public static EmbeddedWeights Weights { get; } = new(PretrainedCatalog.EmbeddedResNet18, (folder, architecture) =>
    {
        var network = Path.Combine(folder, "ResNet18Onnx", "ResNet18.onnx");
        var preprocess = Path.Combine(folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        if (!File.Exists(network) || !File.Exists(preprocess)) return null;
        var meanImage = ReadMeanImage(OnnxGraph.Load(preprocess), preprocess);
        var preprocessing = new Preprocessing(224, ChannelOrder.Bgr, 1f, [0f, 0f, 0f], [1f, 1f, 1f], meanImage, 224);
        return new PretrainedWeights(PretrainedCatalog.EmbeddedResNet18, architecture,
            "ImageNet ResNet (2-2-2-3 basic blocks), CNTK 2.6 ONNX export from Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (MIT); " +
            "BGR 0..255 minus a 224×224 mean image; no classifier",
            network, preprocessing, () => Import(OnnxGraph.Load(network), network));
    });

    /// <summary>resnet18_cntk state_dict entries (every key but <c>fc.*</c>) from the featurizer graph.</summary>
    public static Dictionary<string, Tensor> Import(OnnxGraph graph, string source)
    {
        var convs = graph.Nodes.Where(n => n.OpType == "Conv").ToList();
        var main = convs.Where(n => KernelSide(n) != 1).ToList();
        var downsample = convs.Where(n => KernelSide(n) == 1).ToList();
        if (main.Count != 1 + 2 * Blocks.Length || downsample.Count != 3)
            throw new InvalidDataException($"{source}: expected the featurizer's ResNet layout ({1 + 2 * Blocks.Length} 7×7/3×3 and 3 1×1 convolutions), found {main.Count} and {downsample.Count}.");

        var names = new List<(OnnxNode Conv, string Prefix, string BatchNorm)> { (main[0], "conv1", "bn1") };
        for (int b = 0; b < Blocks.Length; b++)
        {
            names.Add((main[1 + 2 * b], $"{Blocks[b]}.conv1", $"{Blocks[b]}.bn1"));
            names.Add((main[2 + 2 * b], $"{Blocks[b]}.conv2", $"{Blocks[b]}.bn2"));
        }
        for (int d = 0; d < 3; d++)
            names.Add((downsample[d], $"layer{d + 2}.0.downsample.0", $"layer{d + 2}.0.downsample.1"));

        var state = new Dictionary<string, Tensor>();
        foreach (var (conv, prefix, batchNorm) in names)
        {
            state[prefix + ".weight"] = Initializer(graph, conv.Inputs[1], source);
            var bn = graph.Nodes.SingleOrDefault(n => n.OpType == "BatchNormalization" && n.Inputs[0] == conv.Outputs[0])
                     ?? throw new InvalidDataException($"{source}: no BatchNormalization after {conv.Outputs[0]}.");
            state[batchNorm + ".weight"] = Initializer(graph, bn.Inputs[1], source);
            state[batchNorm + ".bias"] = Initializer(graph, bn.Inputs[2], source);
            state[batchNorm + ".running_mean"] = Initializer(graph, bn.Inputs[3], source);
            state[batchNorm + ".running_var"] = Initializer(graph, bn.Inputs[4], source);
        }
        return state;
    }

    /// <summary>The 3×224×224 BGR mean image (0..255) from the featurizer's preprocessing graph.</summary>
    public static float[] ReadMeanImage(OnnxGraph preprocess, string source)
    {
        var sub = preprocess.Nodes.FirstOrDefault(n => n.OpType == "Sub")
                  ?? throw new InvalidDataException($"{source}: no Sub node (mean image) in the preprocessing graph.");
        var mean = preprocess.Initializers.TryGetValue(sub.Inputs[1], out var t) ? t
                   : throw new InvalidDataException($"{source}: the mean image {sub.Inputs[1]} is not an initializer.");
        if (!mean.Dims.SequenceEqual(new long[] { 1, 3, 224, 224 }))
            throw new InvalidDataException($"{source}: mean image is [{string.Join(",", mean.Dims)}], expected [1,3,224,224].");
        return mean.Floats;
    }

    static long KernelSide(OnnxNode conv) => conv.Ints("kernel_shape").FirstOrDefault();

    static Tensor Initializer(OnnxGraph graph, string name, string source)
    {
        if (!graph.Initializers.TryGetValue(name, out var t) || t.DataType != OnnxTensor.Float)
            throw new InvalidDataException($"{source}: {name} is not a float initializer.");
        return tensor(t.Floats, t.Dims); // shaped as made: no 1-D tensor left behind under a view, holding the weights' memory
    }
}

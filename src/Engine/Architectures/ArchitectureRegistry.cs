using MlNetTransfer.Engine.Weights;
using TorchSharp;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>The architectures MlNetTransfer fine-tunes, one row each (see <see cref="Architecture"/>). Layer groups
/// follow the networks' own stages (ResNet's stem and layer1..4, AlexNet's and VGG's conv blocks and fully connected
/// layers, MobileNetV2's inverted-residual stages); module names are the PyTorch state_dict keys, so torchvision weights
/// load by name. <c>mlnet-transfer models</c> prints this table; the README and the help text list its names.</summary>
public static class ArchitectureRegistry
{
    static readonly int[] ResNet18Widths = [64, 128, 256, 512];

    static readonly IReadOnlyDictionary<string, Architecture> Rows = new[]
    {
        new Architecture("alexnet", "AlexNet (Krizhevsky 2012), the recipe's network; 61 M parameters",
            n => torchvision.models.alexnet(n),
            [
                Group("conv1-2", "features.0", "features.3"),
                Group("conv3-5", "features.6", "features.8", "features.10"),
                Group("fc6-7", "classifier.1", "classifier.4"),
                Group("head", "classifier.6"),
            ], NetworkForm.FeaturesPoolClassifier, NetworkSpec.Torchvision("alexnet"), defaultInputSize: 224, minimumInputSize: 63)
        {
            TorchvisionWeightsFile = "alexnet-owt-7be5be79.pth",
            FamiliarTap = "features.6",
        },
        ResNet("resnet18", "ResNet-18 (He 2015); 11.7 M parameters", n => BasicResNet("ResNet18", [2, 2, 2, 2], n),
            NetworkSpec.Torchvision("resnet18"), torchvisionWeightsFile: "resnet18-f37072fd.pth"),
        ResNet("resnet18_cntk", "The ImageNet ResNet that ML.NET's DnnImageFeaturizer.ResNet18 ships (CNTK export): ResNet-18 with " +
            "three blocks in its last stage (2-2-2-3); the embedded default",
            CntkResNet, NetworkSpec.ResNet("basic", CntkResNet18Import.StageDepths),
            classifierAlone: "resnet18_cntk_multilevel", embedded: CntkResNet18Import.Weights),
        ResNet("resnet18_cntk_multilevel", "The same ImageNet ResNet with its classifier on the averaged outputs of its last three stages " +
            "(128 + 256 + 512 values, not the last stage's 512 alone): what resnet18_cntk's classifier alone becomes",
            n => new MultiLevelResNet("ResNet18CntkMultiLevel", CntkResNet(n), ResNet18Widths, n),
            NetworkSpec.MultiLevelResNet("basic", CntkResNet18Import.StageDepths, ResNet18Widths), NetworkForm.MultiLevelResNet,
            weightsOf: "resnet18_cntk"),
        ResNet("resnet34", "ResNet-34; 21.8 M parameters", n => BasicResNet("ResNet34", [3, 4, 6, 3], n),
            NetworkSpec.Torchvision("resnet34"), torchvisionWeightsFile: "resnet34-b627a593.pth"),
        // its 1x1 convolutions kill oneDNN on CPUs whose caches cpuid leaves undescribed (Runtime.OneDnnGuard)
        ResNet("resnet50", "ResNet-50 (bottleneck blocks); 25.6 M parameters",
            n => new TorchSharp.Modules.ResNet("ResNet50", ResNetBottleneck.Factory, ResNetBottleneck.Expansion, [3, 4, 6, 3], n),
            NetworkSpec.Torchvision("resnet50"), torchvisionWeightsFile: "resnet50-0676ba61.pth", crashesOneDnnWithoutCaches: true),
        new Architecture("mobilenet_v2", "MobileNetV2 (Sandler 2018); 3.5 M parameters",
            n => torchvision.models.mobilenet_v2(n, block: InvertedResidualBlock.Factory),
            [
                Group("stem+stage1-2", Features(0, 3)),
                Group("stage3-5", Features(4, 13)),
                Group("stage6-7+conv", Features(14, 18)),
                Group("head", "classifier.1"),
            ], NetworkForm.MobileNetV2, NetworkSpec.Torchvision("mobilenet_v2"), defaultInputSize: 224, minimumInputSize: 32)
        {
            TorchvisionWeightsFile = "mobilenet_v2-b0353104.pth",
            FamiliarTap = "features.14",
        },
        new Architecture("vgg16", "VGG-16 (Simonyan 2014); 138 M parameters",
            n => torchvision.models.vgg16(n),
            [
                Group("block1-2", "features.0", "features.2", "features.5", "features.7"),
                Group("block3-4", "features.10", "features.12", "features.14", "features.17", "features.19", "features.21"),
                Group("block5", "features.24", "features.26", "features.28"),
                Group("fc6-7", "classifier.0", "classifier.3"),
                Group("head", "classifier.6"),
            ], NetworkForm.FeaturesPoolClassifier, NetworkSpec.Torchvision("vgg16"), defaultInputSize: 224, minimumInputSize: 32)
        {
            TorchvisionWeightsFile = "vgg16-397923af.pth",
            FamiliarTap = "features.24",
        },
        new Architecture("tiny", "Two conv blocks, ~1.5 k parameters, no pretrained weights: for tests and smoke runs",
            n => new TinyNet(n),
            [
                Group("block1", "features.0", "features.1"),
                Group("block2", "features.4", "features.5"),
                Group("head", "classifier"),
            ], NetworkForm.FeaturesClassifier, NetworkSpec.Tiny, defaultInputSize: 32, minimumInputSize: 4)
        {
            CamLayer = "features.6", // the second block's ReLU, before the pooling
            FamiliarTap = "features.4",
        },
    }.ToDictionary(a => a.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every registered architecture, in registry order.</summary>
    public static IReadOnlyCollection<Architecture> All => Rows.Values.ToList();

    /// <summary>The registry's names, in order, as the errors and the help text list them.</summary>
    public static string Names => string.Join(", ", Rows.Keys);

    /// <summary>The row for <paramref name="name"/> (case-insensitive); the error lists the known names.</summary>
    public static Architecture Get(string name) =>
        Rows.TryGetValue(name, out var architecture)
            ? architecture
            : throw new ArgumentException($"Unknown architecture '{name}'. Known: {Names}.", nameof(name));

    static Architecture ResNet(string name, string description, Func<int, torch.nn.Module<torch.Tensor, torch.Tensor>> create,
        NetworkSpec network, NetworkForm form = NetworkForm.ResNet, string? weightsOf = null, string? classifierAlone = null,
        EmbeddedWeights? embedded = null, string? torchvisionWeightsFile = null, bool crashesOneDnnWithoutCaches = false) =>
        new(name, description, create,
            [
                Group("stem", "conv1", "bn1"),
                Group("layer1", "layer1"),
                Group("layer2", "layer2"),
                Group("layer3", "layer3"),
                Group("layer4", "layer4"),
                Group("head", "fc"),
            ], form, network, defaultInputSize: 224, minimumInputSize: 32, weightsOf: weightsOf, classifierAlone: classifierAlone,
            crashesOneDnnWithoutCaches: crashesOneDnnWithoutCaches)
        {
            Embedded = embedded,
            TorchvisionWeightsFile = torchvisionWeightsFile,
            CamLayer = "layer4",
            FamiliarTap = "layer4",
        };

    /// <summary>The ResNet of ML.NET's DnnImageFeaturizer.ResNet18: ResNet-18 with three basic blocks in its last stage.</summary>
    static TorchSharp.Modules.ResNet CntkResNet(int classes) => BasicResNet("ResNet18Cntk", CntkResNet18Import.StageDepths, classes);

    /// <summary>TorchSharp's ResNet on <see cref="ResNetBasicBlock"/>: TorchVision's resnet18/resnet34 for those depths,
    /// module for module, with the residual add holding its Scalar. The ResNets and MobileNetV2 here are built on this
    /// project's blocks for that reason (see <see cref="MlNetTransfer.Runtime.HeldScalars"/>).</summary>
    static TorchSharp.Modules.ResNet BasicResNet(string name, int[] stageDepths, int classes) =>
        new(name, ResNetBasicBlock.Factory, ResNetBasicBlock.Expansion, stageDepths, classes);

    static LayerGroup Group(string name, params string[] prefixes) => new(name, prefixes);

    static string[] Features(int first, int last) =>
        Enumerable.Range(first, last - first + 1).Select(i => $"features.{i}").ToArray();
}

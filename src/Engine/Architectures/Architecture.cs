using MlNetTransfer.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>One row of the architecture registry, everything the product knows about a network in one place (timm's
/// registry is the model): how TorchSharp builds it, its layer groups from low-level to head (the last group is always
/// the classifier), the weights it starts from with their preprocessing, how its forward pass is written as ONNX, and
/// how PyTorch builds it for an exported job. Adding an architecture is one row plus its tests.</summary>
public sealed class Architecture
{
    readonly Func<int, nn.Module<Tensor, Tensor>> _create;

    public Architecture(string name, string description, Func<int, nn.Module<Tensor, Tensor>> create,
        IReadOnlyList<LayerGroup> layerGroups, NetworkForm form, NetworkSpec network, int defaultInputSize, int minimumInputSize,
        string? weightsOf = null, string? classifierAlone = null, bool crashesOneDnnWithoutCaches = false)
    {
        CrashesOneDnnWithoutCaches = crashesOneDnnWithoutCaches;
        if (layerGroups.Count < 2) throw new ArgumentException("an architecture needs at least one backbone group and a head", nameof(layerGroups));
        Name = name;
        Description = description;
        Form = form;
        Network = network;
        _create = create;
        LayerGroups = layerGroups;
        DefaultInputSize = defaultInputSize;
        MinimumInputSize = minimumInputSize;
        WeightsOf = weightsOf ?? name;
        ClassifierAlone = classifierAlone;
    }

    /// <summary>Registry name, e.g. <c>alexnet</c>.</summary>
    public string Name { get; }

    public string Description { get; }

    /// <summary>Groups from low-level features to the classifier; the last one is the head.</summary>
    public IReadOnlyList<LayerGroup> LayerGroups { get; }

    /// <summary>The classifier's state_dict prefix (<c>classifier.6</c> for AlexNet, <c>fc</c> for ResNet).</summary>
    public string ClassifierPrefix => LayerGroups[^1].Prefixes.Single();

    /// <summary>How its forward pass is written as ONNX.</summary>
    public NetworkForm Form { get; }

    /// <summary>How PyTorch builds it (an exported job's recipe.json).</summary>
    public NetworkSpec Network { get; }

    /// <summary>Pretrained weights that ship with the product (no file from the user), or null.</summary>
    public EmbeddedWeights? Embedded { get; init; }

    /// <summary>The module whose output is the last convolutional stage's feature maps: where Grad-CAM looks
    /// (<see cref="Explain.GradCam"/>).</summary>
    public string CamLayer { get; init; } = "features";

    /// <summary>The module whose input — the feature maps of the stage below the last, averaged over the image — is the
    /// mid-level view a model compares images by to call them unfamiliar, beside its classifier's input
    /// (<see cref="Recipe.Familiarity"/>): the classifier's input is the most trained to place every image among the
    /// classes, foreign ones too.</summary>
    public string? FamiliarTap { get; init; }

    /// <summary>The torchvision weights file a user passes for it (<c>--weights</c>), named in errors; null: none.</summary>
    public string? TorchvisionWeightsFile { get; init; }

    /// <summary>The preprocessing a weights file for it is assumed to expect: torchvision's ImageNet statistics at its
    /// default side.</summary>
    public Preprocessing FilePreprocessing => Preprocessing.ImageNet(DefaultInputSize);

    /// <summary>The side of the square input its pretrained weights were trained at.</summary>
    public int DefaultInputSize { get; }

    /// <summary>The architecture whose pretrained weights this one takes (itself, or one with the same layers by name and
    /// another classifier).</summary>
    public string WeightsOf { get; }

    /// <summary>The architecture (same weights, by name) whose classifier the recipe solves when the classifier alone is
    /// the model — a wider one that reads more of the frozen network (<see cref="MultiLevelResNet"/>); null: this one.
    /// Deeper strategies train this architecture itself.</summary>
    public string? ClassifierAlone { get; }

    /// <summary>Whether oneDNN's convolutions of this network kill the process on CPUs whose caches cpuid leaves
    /// undescribed (<see cref="Runtime.OneDnnGuard"/>): building it there switches oneDNN off first.</summary>
    public bool CrashesOneDnnWithoutCaches { get; }

    /// <summary>The smallest input side the network accepts (pooling must not shrink a feature map to nothing).</summary>
    public int MinimumInputSize { get; }

    /// <summary>A freshly initialised network with a classifier for <paramref name="numClasses"/> classes.</summary>
    public nn.Module<Tensor, Tensor> Create(int numClasses)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "a classifier needs at least two classes");
        if (CrashesOneDnnWithoutCaches) Runtime.OneDnnGuard.Engage();
        return _create(numClasses);
    }

    /// <summary>The same network with its classifier replaced by a new one for <paramref name="numClasses"/>
    /// classes; every other weight is kept. This is how every architecture resets its classifier.</summary>
    public nn.Module<Tensor, Tensor> ResetClassifier(nn.Module<Tensor, Tensor> model, int numClasses)
    {
        var fresh = Create(numClasses);
        var kept = model.state_dict()
            .Where(kv => !IsClassifierKey(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        using (no_grad())
            fresh.load_state_dict(kept, strict: false);
        return fresh;
    }

    /// <summary>Whether a state_dict key belongs to the classifier.</summary>
    public bool IsClassifierKey(string key) => LayerGroups[^1].Contains(key);

    /// <summary>The index in <see cref="LayerGroups"/> of the group that owns <paramref name="parameterName"/>.</summary>
    public int GroupIndexOf(string parameterName)
    {
        for (int i = 0; i < LayerGroups.Count; i++)
            if (LayerGroups[i].Contains(parameterName)) return i;
        throw new InvalidOperationException($"{Name}: parameter {parameterName} belongs to no layer group");
    }

    public override string ToString() => Name;
}

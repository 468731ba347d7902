using System.Text.Json.Serialization;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>How PyTorch builds the same network, with the state_dict names TorchSharp uses: what an exported job's
/// recipe.json carries, so its script keeps no list of architectures of its own.</summary>
/// <param name="Kind"><c>torchvision</c> (a torchvision.models constructor), <c>resnet</c> (torchvision's ResNet
/// class), <c>multilevel_resnet</c> (that ResNet with its classifier on the pooled outputs of layer2..4) or <c>tiny</c>.</param>
/// <param name="Name">The torchvision.models constructor.</param>
/// <param name="Block">A ResNet's block: <c>basic</c> or <c>bottleneck</c>.</param>
/// <param name="Layers">A ResNet's blocks per stage.</param>
/// <param name="Widths">The channels each ResNet stage puts out (multilevel_resnet).</param>
public sealed record NetworkSpec(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Block = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<int>? Layers = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<int>? Widths = null)
{
    public static NetworkSpec Torchvision(string name) => new("torchvision", name);

    public static NetworkSpec ResNet(string block, IReadOnlyList<int> layers) => new("resnet", Block: block, Layers: layers);

    public static NetworkSpec MultiLevelResNet(string block, IReadOnlyList<int> layers, IReadOnlyList<int> widths) =>
        new("multilevel_resnet", Block: block, Layers: layers, Widths: widths);

    public static NetworkSpec Tiny { get; } = new("tiny");
}

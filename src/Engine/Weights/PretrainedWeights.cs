using MlNetTransfer.Engine.Architectures;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>A set of weights for one architecture together with the preprocessing it was trained with.</summary>
public sealed class PretrainedWeights(string name, string architecture, string description, string source,
    Preprocessing preprocessing, Func<Dictionary<string, Tensor>> read)
{
    /// <summary>Catalog name, e.g. <c>resnet18.imagenet-cntk</c>, or the file path for user weights.</summary>
    public string Name { get; } = name;
    public string Architecture { get; } = architecture;
    public string Description { get; } = description;
    /// <summary>Where the weights are read from.</summary>
    public string Source { get; } = source;
    public Preprocessing Preprocessing { get; } = preprocessing;

    /// <summary>Copies the weights into <paramref name="model"/>; the classifier is kept as initialised when the
    /// weights have none or were trained for another class count.</summary>
    public WeightLoadReport LoadInto(nn.Module<Tensor, Tensor> model, Architecture architecture)
    {
        if (!string.Equals(architecture.Name, Architecture, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(architecture.WeightsOf, Architecture, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"weights {Name} are for {Architecture}, not {architecture.Name}", nameof(architecture));
        // a run builds its networks from the same weights one after the other (the recipe: the classifier-alone
        // network, then the one deeper strategies train): the weights read for one are kept for the next, not read
        // and parsed again (the embedded ResNet: a 45 MB ONNX file, 0.9 s)
        var state = Interlocked.Exchange(ref _lastRead, null) ?? read();
        var report = WeightLoader.Load(model, architecture, state, Source);
        var previous = Interlocked.Exchange(ref _lastRead, state);
        if (previous != null) Free(previous);
        return report;
    }

    Dictionary<string, Tensor>? _lastRead;

    static void Free(Dictionary<string, Tensor> state)
    {
        foreach (var tensor in state.Values) tensor.Dispose();
    }

    public override string ToString() => Name;
}

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
        var state = read();
        try
        {
            return WeightLoader.Load(model, architecture, state, Source);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    public override string ToString() => Name;
}

namespace MlNetTransfer.Engine.Weights;

/// <summary>Pretrained weights that ship with the product, declared by the architecture row they are for:
/// <paramref name="Open"/> reads them from the DnnImageModels folder and the row's name (null when the files are not
/// there), with the preprocessing they were trained with.</summary>
public sealed record EmbeddedWeights(string Name, Func<string, string, PretrainedWeights?> Open);

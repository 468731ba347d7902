namespace MlNetTransfer.Engine.Weights;

/// <summary>An architecture was asked for with its default weights, and it has none; the message says how to
/// supply them.</summary>
public sealed class NoPretrainedWeightsException(string message) : Exception(message);

namespace MlNetTransfer.Engine.Weights;

/// <summary>A weights file does not fit the architecture; the message names the file, the key and both shapes.</summary>
public sealed class WeightMismatchException(string message) : Exception(message);

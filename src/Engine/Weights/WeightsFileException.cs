namespace MlNetTransfer.Engine.Weights;

/// <summary>A weights file exists but is not what its extension says: the message names the file, the format
/// expected and what was found.</summary>
public sealed class WeightsFileException(string message, Exception? inner = null) : Exception(message, inner);

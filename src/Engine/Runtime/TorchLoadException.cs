namespace MlNetTransfer.Runtime;

/// <summary>TorchSharp's native backend could not be loaded; the message says why and what to do.</summary>
public sealed class TorchLoadException : Exception
{
    public TorchLoadException(string message, Exception? inner = null) : base(message, inner) { }
}

namespace MlNetTransfer.Engine.Devices;

/// <summary>The device asked for (CUDA, or a GPU id) is not on this machine and falling back to the CPU is not allowed.</summary>
public sealed class DeviceUnavailableException(string message) : InvalidOperationException(message);

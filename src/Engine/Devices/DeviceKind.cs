namespace MlNetTransfer.Engine.Devices;

/// <summary>Where the user asked training to run.</summary>
public enum DeviceKind
{
    /// <summary>CUDA when libtorch sees a device, else CPU (the default).</summary>
    Auto,
    Cpu,
    Cuda,
}

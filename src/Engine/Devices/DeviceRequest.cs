namespace MlNetTransfer.Engine.Devices;

/// <summary>A device choice in ML.NET's terms (<c>MLContext.GpuDeviceId</c>, <c>MLContext.FallbackToCpu</c>) plus
/// an explicit kind. A GpuDeviceId asks for that CUDA device even when <see cref="Kind"/> is Auto.</summary>
public sealed record DeviceRequest(DeviceKind Kind = DeviceKind.Auto, int? GpuDeviceId = null, bool FallbackToCpu = true)
{
    /// <summary>Whether CUDA is asked for (the Cuda kind, or a device number), not merely allowed (Auto).</summary>
    public bool AsksForCuda => Kind == DeviceKind.Cuda || GpuDeviceId != null;
}

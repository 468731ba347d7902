using MlNetTransfer.Runtime;

namespace MlNetTransfer.Engine.Devices;

/// <summary>Turns a <see cref="DeviceRequest"/> into a device. The decision is a pure function of the request and
/// what libtorch reports, so every branch is tested on CPU-only machines.</summary>
public static class DeviceSelector
{
    /// <summary>Probes CUDA (first thing, before any other torch work) and decides.</summary>
    public static DeviceChoice Select(DeviceRequest request)
    {
        bool cuda = TorchRuntime.IsCudaAvailable;
        return Decide(request, cuda, cuda ? TorchSharp.torch.cuda.device_count() : 0);
    }

    /// <summary>The decision itself. Throws <see cref="DeviceUnavailableException"/> when CUDA is required
    /// (FallbackToCpu false) and cannot be had, or the GpuDeviceId does not exist.</summary>
    public static DeviceChoice Decide(DeviceRequest request, bool cudaAvailable, int cudaDeviceCount)
    {
        if (request.GpuDeviceId is < 0)
            throw new ArgumentOutOfRangeException(nameof(request), request.GpuDeviceId, "GpuDeviceId must be 0 or more");
        if (request.Kind == DeviceKind.Cpu)
            return new DeviceChoice("cpu", "CPU requested");

        int id = request.GpuDeviceId ?? 0;
        string? problem = !cudaAvailable
            ? "libtorch sees no CUDA device (CPU package, no driver, or no GPU)"
            : id >= cudaDeviceCount ? $"GpuDeviceId {id} does not exist ({cudaDeviceCount} CUDA device(s))" : null;

        if (problem == null)
            return new DeviceChoice($"cuda:{id}", request.AsksForCuda ? $"CUDA device {id} requested" : $"CUDA available, using device {id}");
        if (!request.AsksForCuda)
            return new DeviceChoice("cpu", "no CUDA device; CPU");
        if (request.FallbackToCpu)
            return new DeviceChoice("cpu", $"CUDA requested but {problem}; falling back to CPU (FallbackToCpu)");
        throw new DeviceUnavailableException(
            $"CUDA was requested but {problem}, and FallbackToCpu is false. Build with the CUDA flavour on a machine with an NVIDIA GPU, or allow the fallback.");
    }
}

using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Device choice in ML.NET's terms (GpuDeviceId, FallbackToCpu) plus an explicit kind, on every branch;
/// and a real CUDA run where a GPU is present.</summary>
public class DeviceSelectorTests
{
    [Theory]
    [InlineData(DeviceKind.Auto, null, true, true, 1, "cuda:0")]
    [InlineData(DeviceKind.Auto, null, true, false, 0, "cpu")]
    [InlineData(DeviceKind.Cpu, null, true, true, 2, "cpu")]
    [InlineData(DeviceKind.Cuda, null, true, false, 0, "cpu")]   // fallback
    [InlineData(DeviceKind.Auto, 1, true, true, 2, "cuda:1")]     // ML.NET's GpuDeviceId picks the device
    [InlineData(DeviceKind.Auto, 3, true, true, 2, "cpu")]        // no such device, fallback allowed
    public void Chooses_as_mlnet_would(DeviceKind kind, int? gpu, bool fallback, bool cuda, int count, string expected)
    {
        var choice = DeviceSelector.Decide(new DeviceRequest(kind, gpu, fallback), cuda, count);

        Assert.Equal(expected, choice.Device);
        Assert.False(string.IsNullOrWhiteSpace(choice.Reason));
    }

    [Fact]
    public void Cuda_without_fallback_fails_and_says_why()
    {
        var e = Assert.Throws<DeviceUnavailableException>(() =>
            DeviceSelector.Decide(new DeviceRequest(DeviceKind.Cuda, FallbackToCpu: false), cudaAvailable: false, cudaDeviceCount: 0));

        Assert.Contains("FallbackToCpu", e.Message);
        Assert.Contains("no CUDA device", e.Message);
    }

    [Fact]
    public void A_missing_gpu_id_without_fallback_names_the_id()
    {
        var e = Assert.Throws<DeviceUnavailableException>(() =>
            DeviceSelector.Decide(new DeviceRequest(GpuDeviceId: 4, FallbackToCpu: false), cudaAvailable: true, cudaDeviceCount: 1));

        Assert.Contains("GpuDeviceId 4", e.Message);
    }

    [Fact]
    public void Auto_selects_what_this_machine_has_and_a_tensor_runs_there()
    {
        var choice = DeviceSelector.Select(new DeviceRequest());

        Assert.Equal(TorchRuntime.IsCudaAvailable, choice.IsCuda);
        using var x = ones(4, 4, device: choice.ToTorch());
        using var y = x.Times(2).sum().cpu();
        Assert.Equal(32f, y.item<float>());
    }
}

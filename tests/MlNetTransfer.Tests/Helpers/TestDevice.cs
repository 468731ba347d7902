using MlNetTransfer.Engine.Devices;
using TorchSharp;

namespace MlNetTransfer.Tests;

/// <summary>The device the <see cref="TestCategory.Gpu"/> tests train on: CUDA where libtorch sees a GPU (what
/// <see cref="DeviceKind.Auto"/> takes for a user), the CPU elsewhere. With <c>MLNETTRANSFER_TEST_DEVICE=cuda</c> (set by
/// <c>bench/gpu-check.sh tests</c>) a run that would fall back to the CPU fails instead: on the GPU machine a test that
/// quietly trained on the CPU would prove nothing about CUDA.</summary>
internal static class TestDevice
{
    public const string EnvironmentVariable = "MLNETTRANSFER_TEST_DEVICE";

    /// <summary>Whether this run was told that CUDA must be used.</summary>
    public static bool ExpectsCuda => string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "cuda", StringComparison.OrdinalIgnoreCase);

    static readonly Lazy<DeviceChoice> Chosen = new(() => ExpectsCuda
        ? DeviceSelector.Select(new DeviceRequest(DeviceKind.Cuda, FallbackToCpu: false)) // throws, naming why, without CUDA
        : DeviceSelector.Select(new DeviceRequest()));

    public static DeviceChoice Choice => Chosen.Value;

    public static torch.Device Torch => Choice.ToTorch();

    public static bool IsCuda => Choice.IsCuda;

    /// <summary>How far two fits of the same seed may score apart: 1e-5 on the CPU (its kernels are deterministic; what
    /// is left is ONNX Runtime against libtorch), 1e-3 on CUDA, whose convolution gradients sum in no fixed order.</summary>
    public static double RoundingTolerance => IsCuda ? 1e-3 : 1e-5;

    /// <summary>Fails unless a run trained where this suite expects: on CUDA when told so, else where Auto chooses.</summary>
    public static void AssertTrainedOn(string device)
    {
        if (ExpectsCuda)
            Assert.True(device.StartsWith("cuda", StringComparison.Ordinal), $"trained on {device}, but {EnvironmentVariable}=cuda asks for CUDA");
        else
            Assert.Equal(Choice.Device, device);
    }
}

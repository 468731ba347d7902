using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Devices;

namespace MlNetTransfer.Cli.Commands;

/// <summary>--device: auto, cpu, cuda or cuda:N (N becomes MLContext.GpuDeviceId, without fallback).</summary>
public static class DeviceOption
{
    public static (DeviceKind Kind, int? GpuDeviceId)? TryParse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => (DeviceKind.Auto, null),
        "cpu" => (DeviceKind.Cpu, null),
        "cuda" or "gpu" => (DeviceKind.Cuda, null),
        var v when v.StartsWith("cuda:") && int.TryParse(v[5..], out var id) && id >= 0 => (DeviceKind.Cuda, id),
        _ => null,
    };

    /// <summary><see cref="TryParse"/>, or the CLI's error for --device (exit 8).</summary>
    public static (DeviceKind Kind, int? GpuDeviceId) Parse(string value) =>
        TryParse(value) ?? throw new CliException(ExitCodes.BadOption, $"--device must be auto, cpu, cuda or cuda:N, not '{value}'.");
}

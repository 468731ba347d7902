namespace MlNetTransfer.Engine.Devices;

/// <summary>The device picked and why, for logs and reports.</summary>
public sealed record DeviceChoice(string Device, string Reason)
{
    public bool IsCuda => Device.StartsWith("cuda", StringComparison.Ordinal);

    public TorchSharp.torch.Device ToTorch() => new(Device);
}

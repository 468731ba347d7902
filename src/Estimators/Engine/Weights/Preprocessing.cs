using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Channel order of the network's input.</summary>
public enum ChannelOrder { Rgb, Bgr }

/// <summary>What a set of pretrained weights expects of its input: square side, channel order, and either a
/// per-channel mean/std on the 0..1 scale (torchvision) or a mean image on the 0..255 scale (CNTK exports).
/// Train-time and serve-time preprocessing both derive from this one record.</summary>
public sealed record Preprocessing(int InputSize, ChannelOrder ChannelOrder, float[] Mean, float[] Std)
{
    /// <summary>torchvision's ImageNet statistics.</summary>
    public static Preprocessing ImageNet(int inputSize = 224) =>
        new(inputSize, ChannelOrder.Rgb, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Turns RGB pixels on the 0..255 scale, [B,3,H,W] of any dtype, into the network's input.</summary>
    public Tensor Normalize(Tensor rgb255)
    {
        using var scope = NewDisposeScope();
        var x = rgb255.to_type(ScalarType.Float32) / 255f;
        if (ChannelOrder == ChannelOrder.Bgr) x = x.flip(1);
        var mean = tensor(Mean, device: x.device).view(1, 3, 1, 1);
        var std = tensor(Std, device: x.device).view(1, 3, 1, 1);
        return ((x - mean) / std).MoveToOuterDisposeScope();
    }
}

using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Channel order of the network's input.</summary>
public enum ChannelOrder { Rgb, Bgr }

/// <summary>What a set of pretrained weights expects of its input: square side, channel order, pixel scale, and a
/// per-channel mean/std (torchvision: 0..1 pixels, ImageNet mean/std) and/or a mean image subtracted first (CNTK
/// exports: 0..255 BGR pixels minus a 3×224×224 mean image). Train-time and serve-time preprocessing both derive from
/// this one record.</summary>
public sealed record Preprocessing(int InputSize, ChannelOrder ChannelOrder, float PixelScale, float[] Mean, float[] Std,
    float[]? MeanImage = null, int MeanImageSize = 0)
{
    /// <summary>torchvision's ImageNet statistics on 0..1 RGB pixels.</summary>
    public static Preprocessing ImageNet(int inputSize = 224) =>
        new(inputSize, ChannelOrder.Rgb, 1f / 255, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Plain 0..1 scaling around 0.5, for networks trained from scratch.</summary>
    public static Preprocessing Unit(int inputSize) =>
        new(inputSize, ChannelOrder.Rgb, 1f / 255, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);

    /// <summary>The same preprocessing at another input side (a mean image is resized bilinearly).</summary>
    public Preprocessing At(int inputSize) => this with { InputSize = inputSize };

    /// <summary>Turns RGB pixels on the 0..255 scale, [B,3,H,W] of any dtype, into the network's input.</summary>
    public Tensor Normalize(Tensor rgb255)
    {
        using var scope = NewDisposeScope();
        var x = rgb255.to_type(ScalarType.Float32);
        if (ChannelOrder == ChannelOrder.Bgr) x = x.flip(1);
        x = x.Times(PixelScale);
        if (MeanImage != null)
        {
            var mean = tensor(MeanImage, device: x.device).view(1, 3, MeanImageSize, MeanImageSize);
            if (x.shape[2] != MeanImageSize || x.shape[3] != MeanImageSize)
                mean = nn.functional.interpolate(mean, size: [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
            x = x - mean;
        }
        var channelMean = tensor(Mean, device: x.device).view(1, 3, 1, 1);
        var channelStd = tensor(Std, device: x.device).view(1, 3, 1, 1);
        return ((x - channelMean) / channelStd).MoveToOuterDisposeScope();
    }
}

using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>MobileNetV2's inverted residual (1×1 expansion, 3×3 depthwise, 1×1 projection; the shortcut where stride is
/// 1 and the channels are kept) as TorchVision 0.107 builds it — the same child (<c>conv</c>), modules and
/// construction order, so torchvision weights load by name and a seeded network starts from the same numbers — with
/// its residual add holding its Scalar (<see cref="HeldScalars"/>), which TorchVision's <c>x + conv(x)</c> does not.
/// TorchVision's own block is private; <c>torchvision.models.mobilenet_v2</c> takes this one as its block.</summary>
public sealed class InvertedResidualBlock : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> conv;
    readonly bool _residual;

    public InvertedResidualBlock(long inputChannels, long outputChannels, long stride, double expandRatio,
        Func<long, Module<Tensor, Tensor>> normLayer) : base("InvertedResidual")
    {
        if (stride != 1 && stride != 2) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be 1 or 2");
        long hidden = (long)Math.Round(inputChannels * expandRatio);
        _residual = stride == 1 && inputChannels == outputChannels;
        var layers = new List<Module<Tensor, Tensor>>();
        if (expandRatio != 1)
            layers.Add(torchvision.ops.Conv2dNormActivation(inputChannels, hidden, kernel_size: 1, norm_layer: normLayer,
                activation_layer: inplace => ReLU6(inplace)));
        layers.Add(torchvision.ops.Conv2dNormActivation(hidden, hidden, stride: stride, groups: hidden, norm_layer: normLayer,
            activation_layer: inplace => ReLU6(inplace)));
        layers.Add(Conv2d(hidden, outputChannels, 1, 1, 0, bias: false));
        layers.Add(normLayer(outputChannels));
        conv = Sequential(layers);
        RegisterComponents();
    }

    /// <summary>The block factory <c>torchvision.models.mobilenet_v2</c> takes.</summary>
    public static Func<long, long, long, long, Func<long, Module<Tensor, Tensor>>, Module<Tensor, Tensor>> Factory =>
        (inputChannels, outputChannels, stride, expandRatio, normLayer) =>
            new InvertedResidualBlock(inputChannels, outputChannels, stride, expandRatio, normLayer);

    public override Tensor forward(Tensor x) => _residual ? x.Plus(conv.call(x)) : conv.call(x);

    protected override void Dispose(bool disposing)
    {
        if (disposing) conv.Dispose();
        base.Dispose(disposing);
    }
}

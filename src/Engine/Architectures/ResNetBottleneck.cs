using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>ResNet's bottleneck block (1×1, 3×3 and 1×1 convolutions and a shortcut; ResNet-50 and deeper) as
/// TorchVision 0.107 builds it — the same field names, modules and construction order, so torchvision weights load by
/// name and a seeded network starts from the same numbers — with its residual add holding its Scalar
/// (<see cref="HeldScalars"/>), which TorchVision's <c>x.add_(identity)</c> does not.</summary>
public sealed class ResNetBottleneck : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> conv1;
    readonly Module<Tensor, Tensor> bn1;
    readonly Module<Tensor, Tensor> relu1;
    readonly Module<Tensor, Tensor> conv2;
    readonly Module<Tensor, Tensor> bn2;
    readonly Module<Tensor, Tensor> relu2;
    readonly Module<Tensor, Tensor> conv3;
    readonly Module<Tensor, Tensor> bn3;
    readonly Module<Tensor, Tensor>? downsample;

    public const int Expansion = 4;

    public ResNetBottleneck(int inPlanes, int planes, int stride, Module<Tensor, Tensor>? downsample, int groups, int baseWidth,
        int dilation, Func<int, Module<Tensor, Tensor>>? normLayer) : base(nameof(ResNetBottleneck))
    {
        normLayer ??= features => BatchNorm2d(features);
        int width = (int)(planes * (baseWidth / 64.0)) * groups;
        conv1 = Conv2d(inPlanes, width, kernel_size: 1, bias: false);
        bn1 = normLayer(width);
        relu1 = ReLU(inplace: true);
        conv2 = Conv2d(width, width, kernel_size: 3, stride: stride, groups: groups, padding: dilation, dilation: dilation, bias: false);
        bn2 = normLayer(width);
        relu2 = ReLU(inplace: true);
        conv3 = Conv2d(width, Expansion * planes, kernel_size: 1, bias: false);
        bn3 = normLayer(Expansion * planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <summary>The factory TorchSharp's ResNet takes.</summary>
    public static TorchSharp.Modules.ResNet.BlockFunc Factory =>
        (inPlanes, planes, stride, downsample, groups, baseWidth, dilation, normLayer) =>
            new ResNetBottleneck(inPlanes, planes, stride, downsample, groups, baseWidth, dilation, normLayer);

    public override Tensor forward(Tensor input)
    {
        var x = relu1.call(bn1.call(conv1.call(input)));
        x = relu2.call(bn2.call(conv2.call(x)));
        x = bn3.call(conv3.call(x));
        var identity = downsample is null ? input : downsample.call(input);
        return x.PlusInPlace(identity).relu_();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); relu1.Dispose(); conv2.Dispose(); bn2.Dispose(); relu2.Dispose();
            conv3.Dispose(); bn3.Dispose();
            downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}

using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>ResNet's basic block (two 3×3 convolutions and a shortcut) as TorchVision 0.107 builds it — the same field
/// names, modules and construction order, so torchvision weights load by name and a seeded network starts from the
/// same numbers — with its residual add holding its Scalar (<see cref="HeldScalars"/>), which TorchVision's
/// <c>x.add_(identity)</c> does not; <see cref="TorchSharp.Modules.ResNet"/> takes it for any stage depths (TorchVision's
/// own BasicBlock is not public).</summary>
public sealed class ResNetBasicBlock : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> conv1;
    readonly Module<Tensor, Tensor> bn1;
    readonly Module<Tensor, Tensor> relu1;
    readonly Module<Tensor, Tensor> conv2;
    readonly Module<Tensor, Tensor> bn2;
    readonly Module<Tensor, Tensor>? downsample;

    public const int Expansion = 1;

    public ResNetBasicBlock(int inPlanes, int planes, int stride, Module<Tensor, Tensor>? downsample) : base(nameof(ResNetBasicBlock))
    {
        conv1 = Conv2d(inPlanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(planes);
        relu1 = ReLU(inplace: true);
        conv2 = Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = BatchNorm2d(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    /// <summary>The factory TorchSharp's ResNet takes.</summary>
    public static TorchSharp.Modules.ResNet.BlockFunc Factory =>
        (inplanes, planes, stride, downsample, _, _, _, _) => new ResNetBasicBlock(inplanes, planes, stride, downsample);

    public override Tensor forward(Tensor input)
    {
        var x = relu1.call(bn1.call(conv1.call(input)));
        x = bn2.call(conv2.call(x));
        var identity = downsample is null ? input : downsample.call(input);
        return x.PlusInPlace(identity).relu_();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); relu1.Dispose(); conv2.Dispose(); bn2.Dispose();
            downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}

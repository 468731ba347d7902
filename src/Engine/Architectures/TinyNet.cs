using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>A two-block CNN of about 1,500 parameters, laid out like the torchvision models (features, classifier),
/// so tests exercise every code path in seconds.</summary>
public sealed class TinyNet : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> features;
    readonly Module<Tensor, Tensor> classifier;

    public TinyNet(int numClasses) : base(nameof(TinyNet))
    {
        features = Sequential(
            Conv2d(3, 8, kernel_size: 3, padding: 1),
            BatchNorm2d(8),
            ReLU(),
            MaxPool2d(kernel_size: 2),
            Conv2d(8, 16, kernel_size: 3, padding: 1),
            BatchNorm2d(16),
            ReLU(),
            AdaptiveAvgPool2d(1),
            Flatten());
        classifier = Linear(16, numClasses);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return classifier.call(features.call(input)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            features.Dispose();
            classifier.Dispose();
        }
        base.Dispose(disposing);
    }
}

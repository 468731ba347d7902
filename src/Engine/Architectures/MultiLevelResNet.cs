using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MlNetTransfer.Engine.Architectures;

/// <summary>
/// A ResNet whose classifier reads the globally averaged feature maps of its last three stages side by side
/// (layer2, layer3 and layer4: 128 + 256 + 512 values for ResNet-18) instead of the last stage's alone. Middle stages
/// keep textures and parts that the last, most ImageNet-specific stage has pooled away; a linear classifier on all of
/// them transfers further to images unlike ImageNet's (bench/results/multilevel-head.md). Every module keeps
/// torchvision's ResNet name (conv1, bn1, layer1..4, fc), so pretrained weights load by name; only fc is wider.
/// </summary>
public sealed class MultiLevelResNet : Module<Tensor, Tensor>
{
    /// <summary>The stages whose pooled outputs the classifier reads.</summary>
    public static readonly string[] PooledStages = ["layer2", "layer3", "layer4"];

    readonly Module<Tensor, Tensor> conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4;
    readonly Module<Tensor, Tensor> fc;

    /// <summary>Takes the stem and stages of <paramref name="resnet"/> (its own pooling and classifier are dropped);
    /// <paramref name="stageWidths"/> are the channels layer1..layer4 put out.</summary>
    public MultiLevelResNet(string name, TorchSharp.Modules.ResNet resnet, int[] stageWidths, int numClasses) : base(name)
    {
        var parts = resnet.named_children().ToDictionary(c => c.name, c => (Module<Tensor, Tensor>)c.module);
        (conv1, bn1, relu, maxpool) = (parts["conv1"], parts["bn1"], parts["relu"], parts["maxpool"]);
        (layer1, layer2, layer3, layer4) = (parts["layer1"], parts["layer2"], parts["layer3"], parts["layer4"]);
        fc = Linear(stageWidths[1] + stageWidths[2] + stageWidths[3], numClasses);
        RegisterComponents();
        parts["avgpool"].Dispose();
        parts["fc"].Dispose();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = layer1.call(maxpool.call(relu.call(bn1.call(conv1.call(input)))));
        var x2 = layer2.call(x);
        var x3 = layer3.call(x2);
        var x4 = layer4.call(x3);
        // the same pooling as ResNet's own avgpool, so the last 512 values are bit for bit what resnet18_cntk's classifier reads
        Tensor Pool(Tensor x) => nn.functional.adaptive_avg_pool2d(x, 1).flatten(1);
        var pooled = cat([Pool(x2), Pool(x3), Pool(x4)], 1);
        return fc.call(pooled).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); relu.Dispose(); maxpool.Dispose();
            layer1.Dispose(); layer2.Dispose(); layer3.Dispose(); layer4.Dispose(); fc.Dispose();
        }
        base.Dispose(disposing);
    }
}

namespace MlNetTransfer.Engine.Architectures;

/// <summary>How a network's forward pass is laid out, for the ONNX emitter: the order in which it calls its named
/// children. Leaf modules (convolutions, pooling, linear layers) and plain sequences need no form; the blocks inside a
/// form's stages follow from it (a ResNet's stages hold residual blocks, MobileNetV2's features inverted residuals).</summary>
public enum NetworkForm
{
    /// <summary>conv1, bn1, relu, maxpool, layer1..4 of residual blocks (basic or bottleneck), avgpool, fc.</summary>
    ResNet,

    /// <summary>A ResNet whose fc reads the pooled outputs of layer2..4 side by side (<see cref="MultiLevelResNet"/>).</summary>
    MultiLevelResNet,

    /// <summary>features (convolution blocks and inverted residuals), global average pooling, classifier.</summary>
    MobileNetV2,

    /// <summary>features, avgpool, flatten, classifier (AlexNet, VGG).</summary>
    FeaturesPoolClassifier,

    /// <summary>features (ending in a flatten), classifier (the tiny test network).</summary>
    FeaturesClassifier,
}

using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.MlNet;

namespace Microsoft.ML;

/// <summary>
/// <c>mlContext.TransferTrain(...)</c>. It hangs off MLContext rather than <c>mlContext.MulticlassClassification.Trainers</c>
/// because ML.NET's catalogs expose their MLContext only internally, and the step needs the context: its GpuDeviceId
/// and FallbackToCpu choose the device, its TempFilePath holds the ONNX file, and the saved chain is built with it.
/// </summary>
public static class TransferTrainCatalog
{
    /// <summary>Fine-tune a pretrained CNN with all options.</summary>
    public static TransferTrainEstimator TransferTrain(this MLContext mlContext, TransferTrainOptions options) =>
        new(mlContext, options);

    /// <summary>Fine-tune a pretrained CNN: the embedded ImageNet ResNet by default, strategy chosen by Auto.</summary>
    public static TransferTrainEstimator TransferTrain(this MLContext mlContext,
        string labelColumnName = TransferTrainOptions.Defaults.LabelColumnName,
        string imageColumnName = TransferTrainOptions.Defaults.ImageColumnName,
        string architecture = TransferTrainOptions.Defaults.Architecture,
        FineTuneStrategy strategy = FineTuneStrategy.Auto,
        int epochs = MlNetTransfer.Engine.Training.FineTuneOptions.Defaults.Epochs,
        int? imageSize = null) =>
        new(mlContext, new TransferTrainOptions
        {
            LabelColumnName = labelColumnName,
            ImageColumnName = imageColumnName,
            Architecture = architecture,
            Strategy = strategy,
            Epochs = epochs,
            ImageSize = imageSize,
        });
}

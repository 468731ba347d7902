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

    /// <summary>The TransferTrain step for a network trained by an exported job (<c>mlnet-transfer job export</c>, then
    /// <c>train_ddp.py</c> under torchrun): Fit loads and checks the job's trained weights instead of training.
    /// <paramref name="columns"/> names the label, image and output columns; of its other options, only those that say
    /// how the job's images are read for the Unfamiliar column are used (<see cref="MlNetTransfer.Engine.Training.FineTuneOptions.FlagUnfamiliar"/>,
    /// <see cref="TransferTrainOptions.ValidationSet"/>, the image path column and folder, the pixel limit, the cache).</summary>
    public static TransferJobEstimator TransferTrainFromJob(this MLContext mlContext, string jobFolder, TransferTrainOptions? columns = null) =>
        new(mlContext, jobFolder, columns);
}

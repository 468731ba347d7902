using System.Diagnostics;
using Microsoft.ML;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>
/// What is wrong with labelled images, before any training: the pretrained network's frozen features of every image
/// (for the embedded ResNet, the classifier alone's wider view of layers 2–4) at the weights' own side, then
/// <see cref="DataExamination"/>'s checks with the classifier's penalty chosen on a validation split as the recipe
/// chooses it, and test images copied in the training images (<see cref="NearCopies.Between"/>: by print and by features
/// alone, for every test image). The data comes as TransferTrain reads it (the same columns and options).
/// </summary>
public static class DataHealthCheck
{
    /// <summary>Checks <paramref name="data"/> (and <paramref name="test"/>, whose image paths are relative to
    /// <paramref name="testImageFolder"/> when the options name a path column; default: the options' folder).</summary>
    public static DataHealthReport Run(MLContext mlContext, IDataView data, TransferTrainOptions options, IDataView? test = null,
        string? testImageFolder = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        TransferTrainPreflight.CheckOptions(options);
        using var held = HeldTensors.Begin();
        var clock = Stopwatch.StartNew();
        ImageColumns.CheckImage(data.Schema, options.ImageColumnName);
        var classes = ImageColumns.CheckLabel(data.Schema, options.LabelColumnName);
        var device = TransferTrainPreflight.Device(mlContext, options).ToTorch();
        var start = StartingPoint.For(options);
        if (!start.Pretrained)
            throw new ArgumentException($"the data checks read what a pretrained network sees in the images; weights '{options.Weights}' have none: " +
                "use the embedded weights or a weights file", nameof(TransferTrainOptions.Weights));
        var architecture = start.Architecture.ClassifierAlone is { } wide ? ArchitectureRegistry.Get(wide) : start.Architecture;
        int side = options.ImageSize ?? start.Preprocessing.InputSize;
        var log = options.Log ?? MlNetLog.For(mlContext, "DataHealthCheck", "Run");
        using var turn = SeededRunGate.Enter(log, options.CancellationToken);
        random.manual_seed(options.Seed);
        using var model = start.CreateModel(classes.Length, architecture);

        var (trainRows, trainFeatures, trainLabels, trainPrints) = Read(mlContext, data, options, options.ImageFolder, classes, side, model, architecture, start, device, "training", log);
        using (trainFeatures)
        using (trainLabels)
        using (trainPrints)
        using (var neighbours = DataExamination.Neighbours(trainFeatures))
        {
            var issues = new List<DataIssue>();
            issues.AddRange(Mapped(DataExamination.Training(trainFeatures, trainLabels, trainPrints, classes.Length, Penalty(trainFeatures, trainLabels,
                classes.Length, options.Seed), options.Seed, neighbours), trainRows, trainRows));
            int testImages = 0;
            if (test != null)
            {
                ImageColumns.CheckImage(test.Schema, options.ImageColumnName);
                if (!ImageColumns.CheckLabel(test.Schema, options.LabelColumnName).SequenceEqual(classes))
                    throw new ArgumentException($"the test images' '{options.LabelColumnName}' key values differ from the training images'; map both with the same MapValueToKey transformer.", nameof(test));
                if (ReadTest(mlContext, test, options, testImageFolder ?? options.ImageFolder, classes, side, model, architecture, start, device, log) is var (testRows, testFeatures, testLabels, testPrints))
                    using (testFeatures)
                    using (testLabels)
                    using (testPrints)
                    {
                        testImages = testRows.Count;
                        issues.AddRange(Mapped(NearCopies.Between(testFeatures, testPrints, testLabels, trainFeatures, trainPrints), testRows, trainRows));
                        issues.AddRange(Mapped(Outliers.Between(testFeatures, testLabels, trainFeatures, neighbours), testRows, null));
                    }
            }
            var report = new DataHealthReport(issues, classes, trainRows.Count, testImages, clock.Elapsed.TotalSeconds);
            log($"data health: {report.Describe()}");
            return report;
        }
    }

    /// <summary>The classifier's penalty, chosen on a stratified fifth as the recipe chooses it.</summary>
    static double Penalty(Tensor features, Tensor labels, int classes, int seed)
    {
        var y = labels.cpu().data<long>().ToArray();
        var (fit, held) = StratifiedSplit.Split(y, 0.2, seed);
        using var fitIndex = tensor(fit.ToArray(), device: features.device);
        using var heldIndex = tensor(held.ToArray(), device: features.device);
        using var fitFeatures = features.index_select(0, fitIndex);
        using var heldFeatures = features.index_select(0, heldIndex);
        using var deviceLabels = labels.to(features.device);
        using var fitLabels = deviceLabels.index_select(0, fitIndex);
        using var heldLabels = deviceLabels.index_select(0, heldIndex);
        var (head, choice) = ConvergedHead.Choose(fitFeatures, fitLabels, held.Count > 0 ? heldFeatures : null, held.Count > 0 ? heldLabels : null,
            classes, 0, null, null);
        head.Dispose();
        return choice.L2;
    }

    /// <summary>The test images as <see cref="Read"/> gives them, or null (said in the log) when none of them can be
    /// used — none left, or none readable: the training images are still checked, as train's own checks do.</summary>
    static (IReadOnlyList<long> Rows, Tensor Features, Tensor Labels, Tensor Prints)? ReadTest(MLContext mlContext, IDataView test, TransferTrainOptions options,
        string? folder, string[] classes, int side, nn.Module<Tensor, Tensor> model, Architecture architecture, StartingPoint start, Device device, Action<string> log)
    {
        try
        {
            return Read(mlContext, test, options, folder, classes, side, model, architecture, start, device, "test", log);
        }
        catch (InvalidOperationException e)
        {
            log($"data health: test images not checked for copies or unfamiliar images ({e.Message})");
            return null;
        }
    }

    static (IReadOnlyList<long> Rows, Tensor Features, Tensor Labels, Tensor Prints) Read(MLContext mlContext, IDataView data, TransferTrainOptions options,
        string? folder, string[] classes, int side, nn.Module<Tensor, Tensor> model, Architecture architecture, StartingPoint start, Device device, string name,
        Action<string> log)
    {
        var files = options.ImagePathColumnName is { } pathColumn
            ? new ImageFiles(pathColumn, folder, options.MaxImagePixels).CheckedIn(data.Schema, nameof(TransferTrainOptions.ImagePathColumnName))
            : null;
        var read = ImageTensorReader.Read(mlContext, data, options.ImageColumnName, options.LabelColumnName, classes, side, files,
            progress: new PhaseProgress($"data health: {name} images at {side} px decoded", log));
        using var images = read.Data;
        if (read.Skipped > 0) log($"data health: skipped {read.Skipped} {name} rows: {string.Join("; ", read.Problems.Take(5))}");
        var features = ConvergedHead.Features(model, architecture, start.Preprocessing.At(side), images, 64, device, channelsLast: false,
            progress: new PhaseProgress($"data health: {name} features at {side} px", log));
        return (read.Rows, features, images.Labels.clone(), PerceptualPrint.Of(images));
    }

    /// <summary>Issues with their rows as positions in the data they came from.</summary>
    static IEnumerable<DataIssue> Mapped(IEnumerable<DataIssue> issues, IReadOnlyList<long> rows, IReadOnlyList<long>? otherRows) =>
        issues.Select(i => i with { Row = rows[(int)i.Row], Other = i.Other is { } other && otherRows != null ? otherRows[(int)other] : null });
}

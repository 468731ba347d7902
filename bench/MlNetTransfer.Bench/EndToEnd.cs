using System.Diagnostics;
using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Bench;

/// <summary>TransferTrain in an ML.NET pipeline on real PNGs, timed from the outside (the whole Fit: decoding,
/// training, export) and from the inside (per-epoch progress events).</summary>
public static class EndToEnd
{
    public sealed record Result(double FitSeconds, double[] EpochSeconds, double EpochImagesPerSecond, double FitImagesPerSecond, int Images, string ModelPath);

    /// <summary>Fits and saves <c>{architecture}.zip</c> in <paramref name="workFolder"/> (<c>{architecture}-flip.zip</c>
    /// with <paramref name="testTimeFlip"/>: a model that scores each image averaged with its mirror image).</summary>
    public static Result Run(BenchCase c, string imageRoot, IReadOnlyList<ImageRow> rows, int epochs, string workFolder, DeviceKind device,
        bool testTimeFlip = false)
    {
        var ml = new MLContext(seed: 1) { TempFilePath = workFolder, FallbackToCpu = false };
        var data = ml.Data.LoadFromEnumerable(rows);
        var epochSeconds = new List<double>();
        var options = new TransferTrainOptions
        {
            Architecture = c.Architecture, Weights = PretrainedCatalog.Scratch, Strategy = c.Strategy, ImageSize = c.Resolution,
            BatchSize = c.BatchSize, Epochs = epochs, Augment = false, ValidationFraction = 0, EarlyStoppingPatience = 0, LearningRate = 1e-4,
            // the work the PyTorch peer does: no pass after training for the unfamiliar flag
            Device = device, TestTimeFlip = testTimeFlip, FlagUnfamiliar = false,
            Progress = p => { if (p.IsEpochEnd) epochSeconds.Add(rows.Count / p.ImagesPerSecond); },
        };
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageRoot, "ImagePath"))
            .Append(ml.TransferTrain(options));
        var clock = Stopwatch.StartNew();
        using var model = pipeline.Fit(data);
        double fit = clock.Elapsed.TotalSeconds;
        var path = Path.Combine(workFolder, $"{c.Architecture}{(testTimeFlip ? "-flip" : "")}.zip");
        ml.Model.Save(model, data.Schema, path);
        return new Result(fit, epochSeconds.ToArray(), rows.Count * epochSeconds.Count / epochSeconds.Sum(), rows.Count * epochs / fit, rows.Count, path);
    }
}

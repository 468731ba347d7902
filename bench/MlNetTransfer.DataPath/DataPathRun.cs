using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.ML;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.DataPath;

/// <summary>One measured TransferTrain fit in this process: the images decoded into the store, the classifier's
/// feature pass, then training batches timed from the third on (the raw step is timed after warm-up too), stopped
/// after <c>maxBatches</c> through the cancellation token as a user's Ctrl+C would.</summary>
public static partial class DataPathRun
{
    public sealed record Result(string Architecture, int Images, int Side, int BatchSize, double DecodeSeconds, double FeatureSeconds,
        double EpochImagesPerSecond, int BatchesTimed, double PeakResidentMegabytes, double StoreGigabytes, bool Reused,
        double ResidentAfterDecodeMegabytes, double ResidentAtFirstBatchMegabytes);

    public sealed class Row
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public static Result Fit(string architecture, string csv, int side, int batchSize, int maxBatches, string? cacheDirectory)
    {
        var folder = Path.GetDirectoryName(csv)!;
        var rows = File.ReadLines(csv).Skip(1).Select(l => l.Split(',')).Select(c => new Row { ImagePath = c[0], Label = c[1] }).ToList();
        var ml = new MLContext(seed: 1);
        var work = StaleFiles.CreateRunFolder("datapath");
        ml.TempFilePath = work;
        var log = new List<(double At, string Message)>();
        var batchTimes = new List<double>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        double afterDecode = double.NaN, atFirstBatch = double.NaN;
        var options = new TransferTrainOptions
        {
            Architecture = architecture, Weights = "scratch", Strategy = FineTuneStrategy.RetrainAll, ImageSize = side, Epochs = 1,
            BatchSize = batchSize, ValidationFraction = 0.02, EarlyStoppingPatience = 0, CancellationToken = stop.Token,
            CacheDirectory = cacheDirectory, ImagePathColumnName = cacheDirectory == null ? null : nameof(Row.ImagePath),
            ImageFolder = cacheDirectory == null ? null : folder,
            Log = message =>
            {
                lock (log) log.Add((clock.Elapsed.TotalSeconds, message));
                if (double.IsNaN(afterDecode) && DecodeLine().IsMatch(message)) afterDecode = Bench.Paths.ResidentMegabytes();
            },
            Progress = p =>
            {
                if (p.IsEpochEnd) return;
                if (batchTimes.Count == 0) atFirstBatch = Bench.Paths.ResidentMegabytes();
                batchTimes.Add(clock.Elapsed.TotalSeconds);
                if (batchTimes.Count >= maxBatches) stop.Cancel();
            },
        };
        var view = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", folder, nameof(Row.ImagePath)))
            .Append(ml.TransferTrain(options));
        try
        {
            pipeline.Fit(view).Dispose();
        }
        catch (TrainingCancelledException stopped)
        {
            stopped.PartialModel?.Dispose();
        }
        double storeGigabytes = rows.Count * 3.0 * side * side / 1e9;
        var decoded = log.Select(l => DecodeLine().Match(l.Message)).First(m => m.Success);
        double decodeSeconds = double.Parse(decoded.Groups["seconds"].Value, System.Globalization.CultureInfo.InvariantCulture);
        double decodedAt = log.First(l => DecodeLine().IsMatch(l.Message)).At;
        int skip = Math.Min(2, Math.Max(0, batchTimes.Count - 2));
        double rate = batchTimes.Count < 2 ? double.NaN : (batchTimes.Count - 1 - skip) * (double)batchSize / (batchTimes[^1] - batchTimes[skip]);
        Directory.Delete(work, recursive: true);
        return new Result(architecture, rows.Count, side, batchSize, decodeSeconds, batchTimes.Count == 0 ? double.NaN : batchTimes[0] - decodedAt,
            rate, batchTimes.Count - 1 - skip, Bench.Paths.PeakResidentMegabytes(), storeGigabytes, decoded.Groups["reused"].Success, afterDecode, atFirstBatch);
    }

    [GeneratedRegex(@"training images at \d+ px: \d+ (?:decoded in (?<seconds>[\d.]+) s|(?<reused>reused) .*\((?<seconds>[\d.]+) s)")]
    private static partial Regex DecodeLine();
}

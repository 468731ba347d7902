using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>Writes a training report into the output folder: metrics.json, training-curves.png,
/// confusion-matrix.png, report.html (which embeds them and a gallery of the worst-predicted test images) and
/// Consume.cs (how to use the model from C#). Each file is written whole or not at all.</summary>
public static class ReportWriter
{
    public const string MetricsFile = "metrics.json";
    public const string CurvesFile = "training-curves.png";
    public const string ConfusionFile = "confusion-matrix.png";
    public const string HtmlFile = "report.html";
    public const string ConsumeFile = "Consume.cs";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a diverged epoch's NaN loss is written as "NaN"
        Converters = { new JsonStringEnumConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IReadOnlyList<string> Write(string folder, TrainingReport report, string imageRoot, string modelFile)
    {
        Directory.CreateDirectory(folder);
        var curves = ChartRenderer.TrainingCurves(report.History);
        var confusion = ChartRenderer.ConfusionMatrix(report.Test.Classes, report.Test.ConfusionMatrix);
        var files = new List<string>
        {
            AtomicFile.Write(Path.Combine(folder, MetricsFile), JsonSerializer.SerializeToUtf8Bytes(MetricsDocument(report), Json)),
            AtomicFile.Write(Path.Combine(folder, CurvesFile), curves),
            AtomicFile.Write(Path.Combine(folder, ConfusionFile), confusion),
            AtomicFile.Write(Path.Combine(folder, HtmlFile), System.Text.Encoding.UTF8.GetBytes(HtmlReport.Render(report, curves, confusion, imageRoot))),
            AtomicFile.Write(Path.Combine(folder, ConsumeFile), System.Text.Encoding.UTF8.GetBytes(ConsumptionCode.Render(modelFile, report.Test.Classes, report.ImageSize))),
        };
        return files;
    }

    static object MetricsDocument(TrainingReport r) => new
    {
        producedBy = $"mlnet-transfer {Runtime.RuntimeReport.ProductVersion}",
        test = new
        {
            source = r.TestSource,
            images = r.Test.Images,
            microAccuracy = r.Test.MicroAccuracy,
            macroAccuracy = r.Test.MacroAccuracy,
            logLoss = r.Test.LogLoss,
            perClass = r.Test.PerClass,
            classes = r.Test.Classes,
            confusionMatrix = r.Test.ConfusionMatrix,
            confusionMatrixLayout = "rows: actual class, columns: predicted class, in 'classes' order",
            skippedImages = r.TestSkipped,
            unknownClasses = new { images = r.UnknownTestClasses, countedAsErrors = false, note = "test images of classes the training data lacks: left out of the metrics" },
        },
        training = new
        {
            architecture = r.Architecture,
            weights = r.Weights,
            strategy = r.Strategy,
            strategyReason = r.StrategyReason,
            device = r.Device,
            imageSize = r.ImageSize,
            batchSize = r.BatchSize,
            balanceClasses = r.BalanceClasses,
            images = r.TrainImages,
            skippedImages = r.SkippedImages,
            bestEpoch = r.BestEpoch,
            stoppedEarly = r.StoppedEarly,
            stopReason = r.StopReason,
            history = r.History,
            classifier = r.Head == null ? null : new
            {
                l2 = r.Head.L2, imageSize = r.Head.ImageSize, validationAccuracy = r.Head.ValidationAccuracy,
                validationLoss = r.Head.ValidationLoss, trainAccuracy = r.Head.TrainAccuracy, iterations = r.Head.Iterations,
                converged = r.Head.Converged, penaltyGrid = r.Head.Grid, seconds = r.Head.Seconds,
            },
            auto = r.Auto == null ? null : new
            {
                strategy = r.Auto.Strategy.ToString(), imageSize = r.Auto.ImageSize, imagesPerClass = r.Auto.ImagesPerClass,
                headValidationAccuracy = r.Auto.ProbeAccuracy, chanceAccuracy = r.Auto.ChanceAccuracy, similarity = r.Auto.Similarity,
                onGpu = r.Auto.OnGpu, epochs = r.Auto.Epochs, budgetSeconds = r.Auto.BudgetSeconds,
                timings = r.Auto.Timings.Select(t => new { strategy = t.Strategy.ToString(), imageSize = t.ImageSize, secondsPerEpoch = t.SecondsPerEpoch }),
                keptHeadInstead = r.Auto.KeptHeadInstead is { } k ? new { deeperValidationAccuracy = k.Deeper, headValidationAccuracy = k.Head } : null,
                reason = r.Auto.Reason,
            },
            testTimeFlip = r.Flip == null ? null : new
            {
                applied = r.Flip.Applied, reason = r.Flip.Reason,
                validationAccuracy = r.Flip.Measured?.Accuracy, validationLoss = r.Flip.Measured?.Loss,
                averagedValidationAccuracy = r.Flip.Measured?.AveragedAccuracy, averagedValidationLoss = r.Flip.Measured?.AveragedLoss,
            },
        },
        timings = new { trainSeconds = r.TrainSeconds, evaluateSeconds = r.EvaluateSeconds },
    };
}

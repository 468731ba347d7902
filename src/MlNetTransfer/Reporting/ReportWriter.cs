using System.Text.Json;
using MlNetTransfer.Engine.Health;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>Writes a training report into the output folder: metrics.json, training-curves.png,
/// confusion-matrix.png, report.html (which embeds them and a gallery of the worst-predicted test images) and
/// Consume.cs (how to use the model from C#). Each file is written whole or not at all.</summary>
public static class ReportWriter
{
    public const string MetricsFile = "metrics.json";
    public const string CurvesFile = "training-curves.png";
    public const string ConfusionFile = "confusion-matrix.png";
    public const string ReliabilityFile = "reliability.png";
    public const string HtmlFile = "report.html";
    public const string ConsumeFile = "Consume.cs";

    public static IReadOnlyList<string> Write(string folder, TrainingReport report, string imageRoot, string modelFile)
    {
        Directory.CreateDirectory(folder);
        var curves = ChartRenderer.TrainingCurves(report.Run.Training.History);
        var confusion = ChartRenderer.ConfusionMatrix(report.Test.Classes, report.Test.ConfusionMatrix);
        var reliability = report.Calibration is { } calibration ? ChartRenderer.Reliability(calibration) : null;
        var files = new List<string>
        {
            AtomicFile.Write(Path.Combine(folder, MetricsFile), JsonSerializer.SerializeToUtf8Bytes(MetricsDocument(report), CliJson.Indented)),
            AtomicFile.Write(Path.Combine(folder, CurvesFile), curves),
            AtomicFile.Write(Path.Combine(folder, ConfusionFile), confusion),
            AtomicFile.Write(Path.Combine(folder, HtmlFile), System.Text.Encoding.UTF8.GetBytes(HtmlReport.Render(report, curves, confusion, reliability, imageRoot))),
            AtomicFile.Write(Path.Combine(folder, ConsumeFile), System.Text.Encoding.UTF8.GetBytes(ConsumptionCode.Render(modelFile, report.Test.Classes, report.Run.ImageSize, report.Run.Familiarity != null))),
        };
        if (reliability != null) files.Add(AtomicFile.Write(Path.Combine(folder, ReliabilityFile), reliability));
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
            topKAccuracy = r.Test.TopKAccuracy,
            topK = r.Test.TopKReported,
            logLoss = r.Test.LogLoss,
            sureAnswers = SureAnswersDocument(r.Test),
            unfamiliar = r.Test.Unfamiliar,
            against = r.Against?.Document(),
            perClass = r.Test.PerClass,
            classes = r.Test.Classes,
            confusionMatrix = r.Test.ConfusionMatrix,
            confusionMatrixLayout = "rows: actual class, columns: predicted class, in 'classes' order",
            skippedImages = r.TestSkipped,
            unknownClasses = new { images = r.UnknownTestClasses, countedAsErrors = false, note = "test images of classes the training data lacks: left out of the metrics" },
        },
        training = new
        {
            architecture = r.Run.Architecture,
            weights = r.Run.Weights,
            strategy = r.Run.Strategy.ToString(),
            strategyReason = r.Run.StrategyReason,
            device = r.Run.Device,
            imageSize = r.Run.ImageSize,
            batchSize = r.Run.Training.BatchSize,
            balanceClasses = r.Run.BalanceClasses,
            images = r.TrainImages,
            skippedImages = r.SkippedImages,
            bestEpoch = r.Run.Training.BestEpoch,
            stoppedEarly = r.Run.Training.StoppedEarly,
            stopReason = r.Run.Training.StopReason,
            history = r.Run.Training.History,
            classifier = r.Run.Head is not { } head ? null : new
            {
                l2 = head.L2, imageSize = head.ImageSize, validationAccuracy = head.ValidationAccuracy,
                validationLoss = head.ValidationLoss, trainAccuracy = head.TrainAccuracy, iterations = head.Iterations,
                converged = head.Converged, penaltyGrid = head.Grid, seconds = head.Seconds,
            },
            auto = r.Run.Auto is not { } auto ? null : new
            {
                strategy = auto.Strategy.ToString(), imageSize = auto.ImageSize, imagesPerClass = auto.ImagesPerClass,
                headValidationAccuracy = auto.ProbeAccuracy, chanceAccuracy = auto.ChanceAccuracy, similarity = auto.Similarity,
                onGpu = auto.OnGpu, epochs = auto.Epochs, budgetSeconds = auto.BudgetSeconds, spentSeconds = auto.SpentSeconds,
                timings = auto.Timings.Select(t => new
                {
                    strategy = t.Strategy.ToString(), imageSize = t.ImageSize, secondsPerEpoch = t.SecondsPerEpoch, secondsAfter = t.SecondsAfter,
                }),
                keptHeadInstead = auto.KeptHeadInstead is { } k ? new { deeperValidationAccuracy = k.Deeper, headValidationAccuracy = k.Head } : null,
                reason = auto.Reason,
            },
            testTimeFlip = new
            {
                applied = r.Run.Flip.Applied, reason = r.Run.Flip.Reason,
                validationAccuracy = r.Run.Flip.Measured?.Accuracy, validationLoss = r.Run.Flip.Measured?.Loss,
                averagedValidationAccuracy = r.Run.Flip.Measured?.AveragedAccuracy, averagedValidationLoss = r.Run.Flip.Measured?.AveragedLoss,
            },
        },
        calibration = CalibrationDocument(r),
        dataHealth = r.DataHealth is { Checked: true } health
            ? new
            {
                @checked = true, trainImages = health.TrainImages, testImages = health.TestImages,
                labelErrors = health.Count(DataIssueKind.LabelError), duplicates = health.Count(DataIssueKind.Duplicate),
                leaks = health.Count(DataIssueKind.Leak), outliers = health.Count(DataIssueKind.Outlier),
                excludedFromTraining = health.Excluded, seconds = health.Seconds,
            }
            : (object)new { @checked = false },
        dataIssues = r.DataIssues.Select(f => new { path = f.Path, kind = f.Kind, label = f.Label, suggested = f.Suggested, other = f.Other, score = f.Score }),
        timings = new { trainSeconds = r.TrainSeconds, evaluateSeconds = r.EvaluateSeconds },
    };

    /// <summary>What answering only when sure gets on the test images: at each minimum score, and for the surest shares
    /// (<c>evaluate --json</c> writes the same).</summary>
    internal static object SureAnswersDocument(ClassificationReport test, SureAnswers? asked = null) => asked is null
        ? (object)new { byMinScore = test.SureByScore, surestShares = test.SureByShare, forTargetAccuracy = test.ForTargets, note = SureAnswersNote }
        : new { atMinScore = asked, byMinScore = test.SureByScore, surestShares = test.SureByShare, forTargetAccuracy = test.ForTargets, note = SureAnswersNote };

    const string SureAnswersNote = "an image is answered when its top score reaches minScore and the model does not call it unfamiliar (as predict --min-score answers); the rest are left to a person, heldUnfamiliar of them sure but unfamiliar";

    /// <summary>metrics.json's <c>calibration</c>: the temperature and, on the test images, the expected calibration
    /// error and log-loss before and after it; the same on the validation images it was fitted on.</summary>
    static object CalibrationDocument(TrainingReport r)
    {
        var fitted = r.Run.Calibration;
        var test = r.Calibration;
        return new
        {
            applied = fitted.Applied,
            temperature = fitted.Temperature,
            reason = fitted.Describe(),
            measuredOn = test == null ? null : "test images",
            images = test?.Images,
            eceBefore = test?.EceBefore, eceAfter = test?.EceAfter,
            logLossBefore = test?.LogLossBefore, logLossAfter = test?.LogLossAfter,
            eceBins = TemperatureScalingBins,
            validation = fitted.Images == 0 ? null : new
            {
                images = fitted.Images, eceBefore = fitted.EceBefore, eceAfter = fitted.EceAfter,
                logLossBefore = fitted.LogLossBefore, logLossAfter = fitted.LogLossAfter,
            },
            reliability = test == null ? null : new { before = test.Before, after = test.After },
        };
    }

    const int TemperatureScalingBins = Engine.Recipe.TemperatureScaling.EceBins;
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.MlNet;
using Spectre.Console;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Commands;

/// <summary>What `train` and `job import` write once a model is fitted: the test images scored, model.zip (atomically),
/// metrics.json, the charts, report.html and Consume.cs, and a summary table.</summary>
internal static class RunOutputs
{
    public static TrainingReport Write(IAnsiConsole console, MLContext mlContext, TransformerChain<KeyToValueMappingTransformer> model,
        DataViewSchema inputSchema, TransferTrainTransformer transfer, LabelledImageSet testSet, string output, long maxPixels, string? against,
        Func<ClassificationReport, double, TrainingReport> report)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // model.zip is written while the test images are scored (ML.NET deflates the 45 MB network on one core), and
        // only takes its place once they are: a run that fails here leaves a previous model untouched
        using var saving = AtomicFile.WriteInBackground(Path.Combine(output, TrainCommand.ModelFile),
            temp => new MLContext(seed: 1) { TempFilePath = mlContext.TempFilePath }.Model.Save(model, inputSchema, temp));
        var (scored, unreadable) = ModelScoring.Score(mlContext, model, testSet, transfer.ClassNames, transfer.ImageSize, maxPixels,
            progress: new PhaseProgress("test images scored", console.WriteLine));
        SkippedImages.ReportUnreadable(console, unreadable, $"of the test images ({testSet.Source})", ReportWriter.MetricsFile);
        if (scored.Count == 0)
            throw new CliException(ExitCodes.UnreadableImages, $"{testSet.Source}: no test image could be read ({unreadable.Count} skipped, named above).");
        var test = ClassificationReport.Compute(transfer.ClassNames, scored);
        var modelPath = saving.Commit(); // before the comparison: nothing it meets can cost the trained model
        var compared = against == null ? null : Compare(console, mlContext, against, testSet, scored, transfer.ClassNames, maxPixels);
        var written = report(test, clock.Elapsed.TotalSeconds) with
        {
            Calibration = CalibrationReport.Of(scored, transfer.Run.Calibration.Temperature), Heatmaps = Heatmaps(transfer, test, testSet.Root, maxPixels),
            MaxImagePixels = maxPixels, Against = compared,
        };
        if (unreadable.Count > 0) written = written with { TestSkipped = [.. written.TestSkipped, .. unreadable] };
        ReportWriter.Write(output, written, testSet.Root, modelPath);
        Summarise(console, written, output);
        return written;
    }

    /// <summary>The model at <paramref name="path"/> on the same test images (on the CPU, as they were scored), at the
    /// report's minimum score; checked before training (<see cref="AgainstModel.Check"/>), so a failure here — a file
    /// changed or damaged past its metadata since — leaves the comparison out of the report, said why, and the run stands.</summary>
    static AgainstReport? Compare(IAnsiConsole console, MLContext mlContext, string path, LabelledImageSet testSet, List<ScoredImage> scored,
        IReadOnlyList<string> classes, long maxPixels)
    {
        (ITransformer Model, Engine.Onnx.OnnxMetadata Info) other;
        try
        {
            other = AgainstModel.Open(mlContext, path, (Engine.Devices.DeviceKind.Cpu, null), testSet, console);
        }
        catch (CliException e)
        {
            console.MarkupLine($"[yellow]not compared[/]: {Markup.Escape(e.Message)} (the model and the report are written without it)");
            return null;
        }
        try
        {
            return AgainstModel.Compare(mlContext, path, other, testSet, scored, classes, maxPixels, SureAnswers.DefaultMinScore, console);
        }
        finally
        {
            (other.Model as IDisposable)?.Dispose();
        }
    }

    /// <summary>Where the network looked: in the top losses for the class it predicted, in each class's surest right
    /// image for that class.</summary>
    static IReadOnlyDictionary<string, float[,]> Heatmaps(TransferTrainTransformer transfer, ClassificationReport test, string root, long maxPixels)
    {
        var shown = test.TopLosses.Select(s => (s.File, Class: s.Predicted)).Concat(test.SurestRight.Select(s => (s.File, Class: s.Truth)))
            .DistinctBy(s => s.File).ToList();
        var maps = transfer.Heatmaps(shown.Select(s => Path.Combine(root, s.File)).ToList(), shown.Select(s => s.Class).ToList(), maxPixels);
        return shown.Zip(maps).Where(p => p.Second != null).ToDictionary(p => p.First.File, p => p.Second!);
    }

    static void Summarise(IAnsiConsole console, TrainingReport report, string output)
    {
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("test accuracy (micro / macro)", $"{report.Test.MicroAccuracy:P1} / {report.Test.MacroAccuracy:P1}");
        if (report.Test.TopKAccuracy is { } topK) table.AddRow($"test accuracy (top {ClassificationReport.TopK})", $"{topK:P1}");
        table.AddRow("log-loss", $"{report.Test.LogLoss:0.000}");
        if (report.Test.SureAtDefault is { } sure) table.AddRow("sure answers", Markup.Escape(sure.Describe()));
        if (report.Test.Unfamiliar is { } unfamiliar) table.AddRow("unfamiliar", Markup.Escape(unfamiliar.Describe()));
        if (report.Against is { } against) table.AddRow("against", Markup.Escape(against.Describe()));
        var run = report.Run;
        table.AddRow("strategy", Markup.Escape($"{run.Strategy}: {run.StrategyReason}"));
        table.AddRow("best epoch", $"{run.Training.BestEpoch} of {run.Training.History.Count}" + (run.Training.StopReason is { } why ? Markup.Escape($" (stopped early: {why})") : ""));
        if (report.Calibration is { } c && run.Calibration.Applied)
            table.AddRow("calibration", $"temperature {c.Temperature:0.###}: test ECE {c.EceBefore:0.000} → {c.EceAfter:0.000}, log-loss {c.LogLossBefore:0.000} → {c.LogLossAfter:0.000}");
        else if (run.Calibration.Withheld is { } withheld)
            table.AddRow("calibration", Markup.Escape($"not applied: {withheld}"));
        table.AddRow("time", Markup.Escape($"train {report.TrainTime}, evaluate {report.EvaluateSeconds:0.0} s"));
        table.AddRow("written", Markup.Escape($"{Path.Combine(output, TrainCommand.ModelFile)}, {ReportWriter.HtmlFile}, {ReportWriter.MetricsFile}, charts, {ReportWriter.ConsumeFile}"));
        console.Write(table);
        if (ChanceCheck.Of(report.Test) is { NoBetterThanGuessing: true } guessing)
            console.MarkupLine($"[yellow]no better than guessing[/]: {Markup.Escape(guessing.Describe())}");
    }
}

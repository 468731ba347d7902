using System.Diagnostics;
using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Progress;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`train`: fine-tune on a folder or CSV, write model.zip and the report. Ctrl+C stops after the current
/// batch and keeps a checkpoint that `train --resume` continues from.</summary>
public sealed class TrainCommand(IAnsiConsole console) : Command<TrainSettings>
{
    public const string ModelFile = "model.zip";

    public override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () => Train(settings, cancellationToken));

    int Train(TrainSettings settings, CancellationToken cancellationToken)
    {
        var output = Path.GetFullPath(settings.Out);
        var resume = settings.Resume ? ResumeState.Load(output) : null;
        var run = resume ?? RunOf(settings);
        int epochs = resume == null ? settings.Epochs : resume.Epochs - resume.EpochsDone;

        var train = LabelledImageSet.Load(run.Data, run.Strict);
        var (trainSet, testSet, testSource) = TestSplit(train, run);
        ReportSkipped(train);
        console.WriteLine($"training on {trainSet.Rows.Count} images in {trainSet.Classes.Count} classes from {train.Source}; testing on {testSet.Rows.Count} ({testSource})");

        var (kind, gpu) = DeviceOption.TryParse(run.Device)!.Value;
        var mlContext = new MLContext(run.Seed) { GpuDeviceId = gpu, FallbackToCpu = gpu == null };
        var options = new TransferTrainOptions
        {
            Architecture = run.Architecture, Weights = run.Weights, Strategy = Enum.Parse<FineTuneStrategy>(run.Strategy),
            Epochs = epochs, BatchSize = run.BatchSize, LearningRate = run.LearningRate, ImageSize = run.ImageSize,
            Device = kind, Seed = run.Seed, CancellationToken = cancellationToken,
            ContinueFromModelPath = resume == null ? null : Path.Combine(output, ResumeState.CheckpointName),
        };
        var data = mlContext.Data.LoadFromEnumerable(trainSet.Rows);
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoadImages("Image", trainSet.Root, nameof(LabelledImage.ImagePath)))
            .Append(mlContext.TransferTrain(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var clock = Stopwatch.StartNew();
        var model = new TrainingProgressView(console).Run(epochs, (progress, log) =>
        {
            options.Progress = progress;
            options.Log = log;
            return pipeline.Fit(data);
        });
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var transfer = model.OfType<TransferTrainTransformer>().Single();
        try
        {
            if (transfer.Training.Cancelled)
            {
                AtomicFile.Write(Path.Combine(output, ResumeState.CheckpointName), temp => mlContext.Model.Save(model, data.Schema, temp));
                (run with { Epochs = resume?.Epochs ?? settings.Epochs, EpochsDone = (resume?.EpochsDone ?? 0) + transfer.Training.History.Count }).Save(output);
                console.MarkupLine($"[yellow]interrupted[/] after {transfer.Training.History.Count} epoch(s); checkpoint kept in {Markup.Escape(output)}. Continue with: train --resume --out {Markup.Escape(settings.Out)}");
                return ExitCodes.Interrupted;
            }

            clock.Restart();
            var scored = ModelScoring.Score(mlContext, model, testSet, transfer.ClassNames);
            var test = ClassificationReport.Compute(transfer.ClassNames, scored);
            var modelPath = AtomicFile.Write(Path.Combine(output, ModelFile), temp => mlContext.Model.Save(model, data.Schema, temp));
            var report = new TrainingReport(test, testSource, transfer.Training.History, transfer.Training.BestEpoch, transfer.Training.StoppedEarly,
                transfer.Architecture, run.Weights ?? "embedded", transfer.AutoDecision?.Strategy.ToString() ?? run.Strategy,
                transfer.AutoDecision?.Reason ?? "named on the command line", transfer.Device, transfer.ImageSize, trainSet.Rows.Count,
                train.Skipped, trainSeconds, clock.Elapsed.TotalSeconds);
            ReportWriter.Write(output, report, testSet.Root, modelPath);
            foreach (var leftover in new[] { ResumeState.FileName, ResumeState.CheckpointName })
                File.Delete(Path.Combine(output, leftover));
            Summarise(report, output);
            return ExitCodes.Success;
        }
        finally
        {
            model.Dispose();
        }
    }

    static ResumeState RunOf(TrainSettings s)
    {
        var data = s.Data ?? Path.Combine(DefaultData.SamplesFolder() ?? throw new CliException(ExitCodes.DataNotFound,
            "no --data given and data-samples/fashion-mnist not found from here; pass --data <folder|csv>."), "train");
        var test = s.Test ?? (s.Data == null ? Path.Combine(Path.GetDirectoryName(data)!, "test") : null);
        return new ResumeState(data, test, s.Architecture, s.Weights, s.Strategy.ToString(), s.Epochs, 0, s.BatchSize, s.LearningRate,
            s.ImageSize, s.Device, s.Seed, s.Strict);
    }

    /// <summary>The given test set, or a stratified 20 % of the data held out (then training uses the rest).</summary>
    static (LabelledImageSet Train, LabelledImageSet Test, string Source) TestSplit(LabelledImageSet data, ResumeState run)
    {
        if (run.Test != null)
            return (data, LabelledImageSet.Load(run.Test, run.Strict, requireTwoClasses: false), run.Test);
        var classes = data.Classes.ToList();
        var labels = data.Rows.Select(r => (long)classes.IndexOf(r.Label)).ToList();
        var (trainRows, testRows) = StratifiedSplit.Split(labels, 0.2, run.Seed);
        return (data.Subset(trainRows), data.Subset(testRows), $"20 % of {data.Source} held out");
    }

    void ReportSkipped(LabelledImageSet set)
    {
        if (set.Skipped.Count == 0) return;
        console.MarkupLine($"[yellow]skipped {set.Skipped.Count} unreadable image(s)[/] (use --strict to fail instead):");
        foreach (var line in set.Skipped.Take(20)) console.WriteLine($"  {line}");
        if (set.Skipped.Count > 20) console.WriteLine($"  ... and {set.Skipped.Count - 20} more (all listed in metrics.json)");
    }

    void Summarise(TrainingReport report, string output)
    {
        var table = new Table().AddColumn("").AddColumn("");
        table.AddRow("test accuracy (micro / macro)", $"{report.Test.MicroAccuracy:P1} / {report.Test.MacroAccuracy:P1}");
        table.AddRow("log-loss", $"{report.Test.LogLoss:0.000}");
        table.AddRow("strategy", Markup.Escape($"{report.Strategy}: {report.StrategyReason}"));
        table.AddRow("best epoch", $"{report.BestEpoch} of {report.History.Count}");
        table.AddRow("time", $"train {report.TrainSeconds:0.0} s, evaluate {report.EvaluateSeconds:0.0} s");
        table.AddRow("written", Markup.Escape($"{Path.Combine(output, ModelFile)}, {ReportWriter.HtmlFile}, {ReportWriter.MetricsFile}, charts, {ReportWriter.ConsumeFile}"));
        console.Write(table);
    }
}

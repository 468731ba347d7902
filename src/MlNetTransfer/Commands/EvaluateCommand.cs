using System.ComponentModel;
using System.Text.Json;
using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`evaluate`: a saved model on a labelled folder or CSV: accuracy, log-loss, per-class metrics.</summary>
public sealed class EvaluateCommand(IAnsiConsole console) : Command<EvaluateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <PATH>")]
        [Description("model.zip written by train.")]
        public string Model { get; init; } = "out/" + TrainCommand.ModelFile;

        [CommandOption("--data <PATH>")]
        [Description("Labelled images: a folder of class folders or a filename,target CSV.")]
        public string? Data { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("Also write the metrics as JSON.")]
        public string? Json { get; init; }

        [CommandOption("--strict")]
        public bool Strict { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Data) ? ValidationResult.Error("--data is required: the labelled images to evaluate on.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (settings.Json != null) FolderOption.WritableFile(settings.Json, "--json", ("--model", settings.Model), ("--data", settings.Data));
            var set = LabelledImageSet.Load(settings.Data!, settings.Strict, requireTwoClasses: false);
            var mlContext = WorkFolder.NewContext(seed: 1);
            var (model, info) = ModelLoading.Load(mlContext, settings.Model);
            try
            {
                var unknown = TestSplit.UnknownIn(set, info.ClassNames);
                var scored = ModelScoring.Score(mlContext, model, set, info.ClassNames);
                if (scored.Count == 0)
                    throw new CliException(ExitCodes.EmptyData, $"{settings.Data}: none of its classes is one the model knows ({string.Join(", ", info.ClassNames)}).");
                SkippedImages.Report(console, set, "--json's file");
                SkippedImages.ReportUnknown(console, unknown, "the model");
                var report = ClassificationReport.Compute(info.ClassNames, scored);
                var table = new Table().AddColumn("class").AddColumn("precision").AddColumn("recall").AddColumn("F1").AddColumn("support");
                foreach (var c in report.PerClass)
                    table.AddRow(Markup.Escape(c.Class), $"{c.Precision:P1}", $"{c.Recall:P1}", $"{c.F1:0.000}", $"{c.Support}");
                console.Write(table);
                console.WriteLine($"accuracy {report.MicroAccuracy:P1} (micro), {report.MacroAccuracy:P1} (macro); log-loss {report.LogLoss:0.000}; {report.Images} images" +
                                  (set.Skipped.Count > 0 ? $"; {set.Skipped.Count} unreadable skipped" : "") +
                                  (unknown.Count > 0 ? $"; {unknown.Values.Sum()} of unknown classes left out" : ""));
                if (settings.Json != null)
                    AtomicFile.Write(settings.Json, JsonSerializer.SerializeToUtf8Bytes(new
                    {
                        report.MicroAccuracy, report.MacroAccuracy, report.LogLoss, report.Images, report.PerClass, report.Classes,
                        report.ConfusionMatrix, Skipped = set.Skipped,
                        UnknownClasses = new { Images = unknown, CountedAsErrors = false },
                    }));
                return ExitCodes.Success;
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }
        });
}

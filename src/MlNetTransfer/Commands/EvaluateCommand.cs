using System.ComponentModel;
using System.Text.Json;
using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`evaluate`: a saved model on a labelled folder or CSV: accuracy, log-loss, per-class metrics.</summary>
public sealed class EvaluateCommand(IAnsiConsole console) : Command<EvaluateCommand.Settings>
{
    public sealed class Settings : CommandSettings, ICsvColumnSettings
    {
        [CommandOption("--model <PATH>")]
        [Description("model.zip written by train.")]
        public string Model { get; init; } = "out/" + TrainCommand.ModelFile;

        [CommandOption("--data <PATH>")]
        [Description("Labelled images: a folder of class folders, or a CSV of image paths and classes (filename,target or ImagePath,Label; other names with --image-column, --label-column).")]
        public string? Data { get; init; }

        [CommandOption("--image-column <NAME>")]
        [Description(CsvColumnOptions.ImageHelp)]
        public string? ImageColumn { get; init; }

        [CommandOption("--label-column <NAME>")]
        [Description(CsvColumnOptions.LabelHelp)]
        public string? LabelColumn { get; init; }

        [CommandOption("--image-root <FOLDER>")]
        [Description(CsvColumnOptions.RootHelp)]
        public string? ImageRoot { get; init; }

        [CommandOption("--json <PATH>")]
        [Description("Also write the metrics as JSON; - writes them to standard output (and the table to standard error).")]
        public string? Json { get; init; }

        [CommandOption("--strict")]
        public bool Strict { get; init; }

        [CommandOption("--verbose")]
        [Description("Also print libtorch's own C++ warnings (off by default; TORCH_CPP_LOG_LEVEL=WARNING does the same).")]
        public bool Verbose { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description(ModelLoading.DeviceHelp)]
        public string Device { get; init; } = "cpu";

        [CommandOption("--max-image-pixels <N>")]
        [Description("The most pixels an image may hold (from its header, before decoding); larger ones are skipped as unreadable. Default: 178956970.")]
        public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

        [CommandOption("--min-score <P>")]
        [Description(MinScoreOption.Help + "the line after the accuracy says how many images are answered — their score reaches it and the model does not call them unfamiliar, as predict answers — and how often those are right, the rest left to a person. Default: 0.9.")]
        public double MinScore { get; init; } = SureAnswers.DefaultMinScore;

        [CommandOption("--target-accuracy <P>")]
        [Description("Also find the minimum score to answer at for answers right at least this often (0 to 1, such as 0.98), shown on these images with 95 % confidence: the lowest that passes an exact binomial test, thresholds tried from the surest images down (fixed-sequence testing). The answer is for images like these.")]
        public double? TargetAccuracy { get; init; }

        [CommandOption("--against <PATH>")]
        [Description("Also score another model.zip (the model in production, an earlier run) on the same images and say whether --model is more accurate beyond chance: the images each gets right that the other gets wrong (McNemar's exact test) and the log-loss difference with a 95 % interval (paired bootstrap).")]
        public string? Against { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Data) ? ValidationResult.Error("--data is required: the labelled images to evaluate on.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (settings.Verbose) Runtime.LibTorchLogLevel.ShowWarnings();
            var device = ModelLoading.CheckDevice(settings.Device);
            bool jsonOut = settings.Json == "-"; // for scripts: standard output holds the JSON alone
            if (settings.Json != null && !jsonOut) FolderOption.WritableFile(settings.Json, "--json", ("--model", settings.Model), ("--data", settings.Data));
            var human = LogConsole.ForPeople(console, jsonOut);
            if (settings.MaxImagePixels < 1) throw new CliException(ExitCodes.BadOption, $"--max-image-pixels: must be at least 1, not {settings.MaxImagePixels}.");
            MinScoreOption.Check(settings.MinScore);
            if (settings.TargetAccuracy is { } target && !(target is > 0 and < 1))
                throw new CliException(ExitCodes.BadOption, $"--target-accuracy: must be an accuracy between 0 and 1 (such as 0.98), not {target.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
            settings.CheckColumnsApply(settings.Data);
            // images without classes (a Kaggle-style test set) are refused with the command that scores them
            var set = LabelledImageSet.Load(settings.Data!, settings.Strict, requireTwoClasses: false, settings.MaxImagePixels, settings.Columns(),
                withoutClasses: $"without them there is nothing to measure; to score the images: predict --model {settings.Model} {settings.Data}" +
                    (settings.ImageColumn is { } column ? $" --image-column {column}" : ""));
            WorkFolder.CleanStale(human, settings.Json is { } file && !jsonOut ? [Path.GetDirectoryName(Path.GetFullPath(file))!] : []);
            var mlContext = WorkFolder.NewContext(seed: 1);
            var (model, info) = ModelLoading.Load(mlContext, settings.Model, device, human);
            (ITransformer Model, Engine.Onnx.OnnxMetadata Info)? against = null;
            try
            {
                if (settings.Against != null) against = AgainstModel.Open(mlContext, settings.Against, device, set, human); // a bad file fails before any scoring
                var unknown = TestSplit.UnknownIn(set, info.ClassNames);
                if (unknown.Count > 0 && unknown.Count == set.Classes.Count)
                    throw new CliException(ExitCodes.EmptyData, $"{settings.Data}: none of its classes is one the model knows ({string.Join(", ", info.ClassNames)}).");
                var (scored, unreadable) = ModelScoring.Score(mlContext, model, set, info.ClassNames, info.Preprocessing.InputSize, settings.MaxImagePixels,
                    progress: new PhaseProgress("images scored", human.WriteLine));
                if (settings.Strict && unreadable.Count > 0)
                    throw new CliException(ExitCodes.UnreadableImages, $"{unreadable.Count} image(s) in {settings.Data} could not be read (--strict): {string.Join("; ", unreadable.Take(5))}");
                var listed = jsonOut ? "the JSON on standard output" : settings.Json; // without --json the screen shows every one
                SkippedImages.Report(human, set, listed);
                SkippedImages.ReportUnreadable(human, unreadable, $"of {set.Source}", listed);
                if (scored.Count == 0)
                    throw new CliException(ExitCodes.UnreadableImages, $"{settings.Data}: no image could be read ({unreadable.Count} skipped, named above).");
                SkippedImages.ReportUnknown(human, unknown, "the model");
                var report = ClassificationReport.Compute(info.ClassNames, scored);
                var table = new Table().AddColumn("class").AddColumn("precision").AddColumn("recall").AddColumn("F1").AddColumn("support");
                foreach (var c in report.PerClass)
                    table.AddRow(Markup.Escape(c.Class), $"{c.Precision:P1}", $"{c.Recall:P1}", $"{c.F1:0.000}", $"{c.Support}");
                human.Write(table);
                human.WriteLine($"accuracy {report.MicroAccuracy:P1} (micro), {report.MacroAccuracy:P1} (macro)" +
                                (report.TopKAccuracy is { } topK ? $", {topK:P1} (top {ClassificationReport.TopK})" : "") +
                                $"; log-loss {report.LogLoss:0.000}; {report.Images} images" +
                                  (set.Skipped.Count + unreadable.Count > 0 ? $"; {set.Skipped.Count + unreadable.Count} unreadable skipped" : "") +
                                  (unknown.Count > 0 ? $"; {unknown.Values.Sum()} of unknown classes left out" : ""));
                var sure = SureAnswers.At(scored, settings.MinScore);
                human.WriteLine($"sure answers: {sure.Describe()}");
                var targeted = settings.TargetAccuracy is { } wanted ? Reporting.TargetAccuracy.Find(scored, wanted) : null;
                if (targeted != null) human.WriteLine(targeted.Describe());
                if (report.Unfamiliar is { } unfamiliarImages) human.WriteLine($"unfamiliar: {unfamiliarImages.Describe()}");
                var compared = against is { } loaded
                    ? AgainstModel.Compare(mlContext, settings.Against!, loaded, set, scored, info.ClassNames, settings.MaxImagePixels, settings.MinScore, human) : null;
                if (compared != null) human.WriteLine(compared.Describe());
                var json = JsonSerializer.SerializeToUtf8Bytes(new
                {
                    report.MicroAccuracy, report.MacroAccuracy, report.TopKAccuracy, TopK = report.TopKReported,
                    report.LogLoss, report.Images, SureAnswers = ReportWriter.SureAnswersDocument(report, sure), TargetAccuracy = targeted, report.Unfamiliar, report.PerClass, report.Classes,
                    report.ConfusionMatrix, Skipped = set.Skipped.Concat(unreadable).ToList(),
                    UnknownClasses = new { Images = unknown, CountedAsErrors = false },
                    Against = compared?.Document(),
                }, CliJson.Compact);
                if (jsonOut) console.Profile.Out.Writer.WriteLine(System.Text.Encoding.UTF8.GetString(json));
                else if (settings.Json != null) AtomicFile.Write(settings.Json, json);
                return ExitCodes.Success;
            }
            finally
            {
                (model as IDisposable)?.Dispose();
                (against?.Model as IDisposable)?.Dispose();
            }
        });
}

using System.ComponentModel;
using System.Text.Json;
using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`check`: what is wrong with labelled images, before any training: likely label errors, duplicates, test
/// images copied in the training images, outliers; on screen and, with --json, every flagged image.</summary>
public sealed class CheckCommand(IAnsiConsole console) : Command<CheckCommand.Settings>
{
    public sealed class Settings : CommandSettings, ICsvColumnSettings
    {
        [CommandOption("--data <PATH>")]
        [Description("Folder with one sub-folder per class, or a CSV of image paths and classes (filename,target or ImagePath,Label; comma, tab or semicolon separated; other names with --image-column, --label-column). Default: data-samples/fashion-mnist/train.")]
        public string? Data { get; init; }

        [CommandOption("--test <PATH>")]
        [Description("Test images (folder or CSV): those with a copy in --data are flagged as leaks, those unlike every image of --data as unfamiliar. They need no classes: a folder of images without class folders, or a list without a class column (paths one per line too), is checked the same way. Default: data-samples' test split with the default data.")]
        public string? Test { get; init; }

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
        [Description("Write every flagged image as JSON (path, kind, label, suggested, other, score); - writes it to standard output.")]
        public string? Json { get; init; }

        [CommandOption("--arch <NAME>")]
        [Description("Architecture whose frozen features the checks read; default: the embedded ImageNet ResNet.")]
        public string Architecture { get; init; } = TransferTrainOptions.Defaults.Architecture;

        [CommandOption("--weights <PATH>")]
        [Description("Weights file for --arch, or an embedded weight name. Default: the embedded weights.")]
        public string? Weights { get; init; }

        [CommandOption("--seed <N>")]
        public int Seed { get; init; } = Engine.Training.FineTuneOptions.Defaults.Seed;

        [CommandOption("--strict")]
        [Description("Fail on the first unreadable image instead of skipping it.")]
        public bool Strict { get; init; }

        [CommandOption("--max-image-pixels <N>")]
        [Description("The most pixels an image may hold (from its header, before decoding). Default: 178956970.")]
        public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

        [CommandOption("--verbose")]
        [Description("Also print libtorch's own C++ warnings.")]
        public bool Verbose { get; init; }
    }

    /// <summary>Shown per kind on screen; --json has them all.</summary>
    const int Shown = 10;

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (settings.Verbose) Runtime.LibTorchLogLevel.ShowWarnings();
            bool jsonOut = settings.Json == "-";
            if (settings.Json != null && !jsonOut) FolderOption.WritableFile(settings.Json, "--json", ("--data", settings.Data ?? ""));
            var human = LogConsole.ForPeople(console, jsonOut);
            var options = new TransferTrainOptions
            {
                Architecture = settings.Architecture, Weights = settings.Weights, Seed = settings.Seed, MaxImagePixels = settings.MaxImagePixels,
                FailOnUnreadableImages = settings.Strict, ImagePathColumnName = nameof(LabelledImage.ImagePath), Log = line => human.WriteLine(line),
            };
            RunSettings.Check(options);
            var (dataPath, testPath) = DefaultData.Paths(settings.Data, settings.Test);
            settings.CheckColumnsApply(dataPath, testPath);
            var data = LabelledImageSet.Load(dataPath, settings.Strict, maxPixels: settings.MaxImagePixels, columns: settings.Columns());
            var listed = jsonOut ? "the JSON on standard output" : settings.Json; // without --json the screen shows every skipped image
            SkippedImages.Report(human, data, listed);
            LabelledImageSet? test = null;
            bool unlabelled = false; // test images without classes: copies and unfamiliar images need none
            if (testPath != null)
            {
                test = UnlabelledImages.Load(testPath, settings.Columns(), data.Classes[0], settings.Strict, settings.MaxImagePixels);
                unlabelled = test != null;
                if (test == null)
                {
                    (test, var unknown) = TestSplit.KnownTo(data, LabelledImageSet.Load(testPath, settings.Strict, requireTwoClasses: false, settings.MaxImagePixels, settings.Columns()), testPath);
                    SkippedImages.ReportUnknown(human, unknown, "the training data", "the test images' checks"); // their labels cannot be read as keys
                }
                SkippedImages.Report(human, test, listed);
            }
            human.WriteLine($"checking {data.Rows.Count} images in {data.Classes.Count} classes from {data.Source}" +
                            (test != null ? $" and {test.Rows.Count} test images{(unlabelled ? " without classes" : "")} from {test.Source}" : ""));

            var mlContext = WorkFolder.NewContext(settings.Seed);
            var keys = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(mlContext.Data.LoadFromEnumerable(data.Rows));
            IDataView View(LabelledImageSet set)
            {
                var rows = keys.Transform(mlContext.Data.LoadFromEnumerable(set.Rows));
                return mlContext.Transforms.LoadImages("Image", set.Root, nameof(LabelledImage.ImagePath)).Fit(rows).Transform(rows);
            }
            options.ImageFolder = data.Root; // paths as the folder or CSV gives them, in what is skipped too
            var report = DataHealthCheck.Run(mlContext, View(data), options, test == null ? null : View(test), test?.Root);

            var (trainPaths, testPaths) = (data.Paths(), test?.Paths()); // listed once, not once per flagged image
            var flagged = report.Issues.Select(i => FlaggedImage.Of(i, report.Classes, trainPaths, testPaths, testClasses: !unlabelled)).ToList();
            DataHealthTable.Write(human, report, flagged, Shown);
            if (settings.Json != null)
            {
                var json = JsonSerializer.SerializeToUtf8Bytes(new
                {
                    data = data.Source, test = test?.Source, images = report.TrainImages, testImages = report.TestImages, issues = flagged,
                    skipped = data.Skipped.Concat(test?.Skipped ?? []).ToList(),
                }, CliJson.Indented);
                if (jsonOut) Console.Out.Write(System.Text.Encoding.UTF8.GetString(json));
                else AtomicFile.Write(settings.Json, json);
            }
            return ExitCodes.Success;
        });
}

using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`job import`: the network a job trained (trained.safetensors), checked against the job's own logits, as
/// the same outputs `train` writes: model.zip (a regular ML.NET model), metrics.json, the report and Consume.cs.</summary>
public sealed class JobImportCommand(IAnsiConsole console) : Command<JobImportSettings>
{
    public override int Execute(CommandContext context, JobImportSettings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () => Import(settings));

    int Import(JobImportSettings settings)
    {
        var job = Path.GetFullPath(settings.Job);
        var recipe = JobFiles.ReadRecipe(job);
        var output = FolderOption.Writable(settings.Out, "--out");
        WorkFolder.CleanStale(console, output);
        var root = settings.ImageRoot is { } given ? Path.GetFullPath(given) : recipe.ImageRoot;
        var listed = JobFiles.ReadImages(job);
        var train = listed.Where(i => i.Split == JobImage.Train).ToList();
        var validation = listed.Where(i => i.Split == JobImage.Validation).ToList();
        string testSource;
        LabelledImageSet testSet;
        if (settings.Test != null)
        {
            settings.CheckColumnsApply(settings.Test);
            testSet = LabelledImageSet.Load(settings.Test, settings.Strict, requireTwoClasses: false, columns: settings.Columns());
            testSource = testSet.Source;
        }
        else
        {
            var held = listed.Where(i => i.Split == JobImage.Test).ToList();
            var rows = held.Count > 0 ? held : validation;
            if (rows.Count == 0) throw new CliException(ExitCodes.DataNotFound, $"{Path.Combine(job, JobFiles.Images)} has no test or validation rows; pass --test <folder|csv>.");
            testSource = held.Count > 0 ? $"the {held.Count} test images held out at export" : $"the job's {rows.Count} validation images (they chose the best epoch: an optimistic estimate; pass --test)";
            testSet = LabelledImageSet.FromList(Path.Combine(job, JobFiles.Images), root, rows.Select(r => (r.Path, r.Label)), settings.Strict);
            SkippedImages.Report(console, testSet, ReportWriter.MetricsFile);
        }
        var unknown = TestSplit.UnknownIn(testSet, recipe.Classes);
        SkippedImages.ReportUnknown(console, unknown, "the job");
        testSet = testSet.OfClasses(recipe.Classes);

        var mlContext = WorkFolder.NewContext(recipe.Seed);
        IDataView Rows(IEnumerable<JobImage> images) =>
            mlContext.Data.LoadFromEnumerable(images.Select(i => new LabelledImage { ImagePath = i.Path, Label = i.Label }));
        var rowsView = Rows(train);
        // the label keys in the job's class order: the model's Score slots are then the job's classes
        var keys = mlContext.Transforms.Conversion.MapValueToKey("Label", keyData: mlContext.Data.LoadFromEnumerable(recipe.Classes.Select(c => new KeyRow { Label = c })))
            .Append(mlContext.Transforms.LoadImages("Image", root, nameof(LabelledImage.ImagePath)));
        var options = new TransferTrainOptions
        {
            Log = line => console.WriteLine(line),
            Seed = recipe.Seed,
            // the job's images, decoded as train decodes them, tell the model which images are unfamiliar
            FlagUnfamiliar = !settings.NoUnfamiliar,
            ImagePathColumnName = nameof(LabelledImage.ImagePath),
            ImageFolder = root,
            ValidationSet = validation.Count > 0 ? keys.Fit(rowsView).Transform(Rows(validation)) : null,
        };
        var pipeline = keys.Append(mlContext.TransferTrainFromJob(job, options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        using var model = pipeline.Fit(rowsView);
        var transfer = model.OfType<TransferTrainTransformer>().Single();
        var history = transfer.Training.History;
        console.WriteLine($"imported {recipe.Architecture} {recipe.Strategy} at {recipe.ImageSize} px from {job} (trained by {transfer.Device}); testing on {testSet.Rows.Count} ({testSource})");
        if (transfer.Training.StopReason is { } why) console.WriteLine($"the job stopped early: {why}");
        RunOutputs.Write(console, mlContext, model, rowsView.Schema, transfer, testSet, output, Imaging.ImageDecoder.DefaultMaxPixels, against: null, (test, evaluateSeconds) =>
            new TrainingReport(test, testSource, transfer.Run, train.Count, [], history.Sum(e => e.Seconds), evaluateSeconds)
            {
                TestSkipped = testSet.Skipped, UnknownTestClasses = unknown,
            });
        return ExitCodes.Success;
    }

    sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }
}

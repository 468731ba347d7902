using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`job export`: the recipe that `train` runs, up to its first training step (the classifier solved on the
/// frozen features, the strategy resolved), written as a folder that PyTorch's torchrun trains (train_ddp.py).</summary>
public sealed class JobExportCommand(IAnsiConsole console) : Command<JobExportSettings>
{
    /// <summary>The unreadable images left out of the job, "file: reason" per line (only when there are any).</summary>
    public const string SkippedFile = "skipped.txt";

    public override int Execute(CommandContext context, JobExportSettings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () => Export(settings, cancellationToken));

    int Export(JobExportSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        if (options.ExcludeFlagged)
            throw new CliException(ExitCodes.BadOption, "--exclude-flagged: a job exported for torchrun trains on the rows it lists; run `check`, remove the flagged images, then export.");
        RunSettings.Check(options);
        if (options.Strategy == FineTuneStrategy.HeadOnly)
            throw new CliException(ExitCodes.BadOption, "--strategy HeadOnly: a job trains layers on other machines; the classifier alone is solved in seconds by `train --strategy HeadOnly`.");
        var folder = FolderOption.Writable(settings.Out, "--out");
        WorkFolder.CleanStale(console, folder);

        var (dataPath, testPath) = settings.DataPaths();
        settings.CheckColumnsApply(dataPath, testPath);
        var data = LabelledImageSet.Load(dataPath, settings.Strict, maxPixels: options.MaxImagePixels, columns: settings.Columns());
        var split = TestSplit.Of(data, testPath, settings.Strict, options.Seed, options.MaxImagePixels, settings.Columns());
        SkippedImages.Report(console, data, Path.Combine(folder, SkippedFile));
        SkippedImages.ReportUnknown(console, split.UnknownClasses, "the training data");
        var classes = split.Train.Classes.ToList();
        var labels = split.Train.Rows.Select(r => (long)classes.IndexOf(r.Label)).ToList();
        var (fitRows, validationRows) = TransferTrainPreflight.ValidationSplit(options, labels); // the rows train would hold out
        var fit = split.Train.Subset(fitRows);
        var validation = split.Train.Subset(validationRows);
        console.WriteLine($"job: {fit.Rows.Count} training and {validation.Rows.Count} validation images in {classes.Count} classes from {data.Source}; " +
                          $"{split.Test.Rows.Count} test images ({split.Source}) for the report after import");

        var root = split.Train.Root;
        var images = fit.Rows.Select(r => new JobImage(r.ImagePath, r.Label, JobImage.Train))
            .Concat(validation.Rows.Select(r => new JobImage(r.ImagePath, r.Label, JobImage.Validation)))
            .Concat(split.Test.Rows.Where(r => classes.Contains(r.Label))
                .Select(r => new JobImage(Path.GetRelativePath(root, Path.Combine(split.Test.Root, r.ImagePath)), r.Label, JobImage.Test)))
            .ToList();

        var mlContext = WorkFolder.NewContext(options.Seed, settings.Device);
        var keys = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoadImages("Image", root, nameof(LabelledImage.ImagePath)))
            .Fit(mlContext.Data.LoadFromEnumerable(split.Train.Rows)); // one key order for both parts
        options.ValidationSet = validation.Rows.Count > 0 ? keys.Transform(mlContext.Data.LoadFromEnumerable(validation.Rows)) : null;
        options.ValidationFraction = 0;
        (options.ImagePathColumnName, options.ImageFolder) = (nameof(LabelledImage.ImagePath), root); // decoded as train decodes them
        options.CancellationToken = cancellationToken;
        options.Log = line => console.WriteLine(line);
        var summary = TransferJobExport.Write(mlContext, keys.Transform(mlContext.Data.LoadFromEnumerable(fit.Rows)), options, folder, images, root);

        if (summary.Skipped.Count > 0)
            console.WriteLine($"left out of the job: {summary.Skipped.Count} image(s) that could not be decoded, listed in {Path.Combine(folder, SkippedFile)}");
        var skipped = data.Skipped.Concat(summary.Skipped).ToList();
        if (skipped.Count > 0) AtomicFile.Write(Path.Combine(folder, SkippedFile), System.Text.Encoding.UTF8.GetBytes(string.Join("\n", skipped) + "\n"));
        else if (File.Exists(Path.Combine(folder, SkippedFile))) File.Delete(Path.Combine(folder, SkippedFile)); // an earlier export's
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("strategy", Markup.Escape($"{summary.Strategy} at {summary.ImageSize} px: {summary.Reason}"));
        table.AddRow("groups", Markup.Escape(summary.Plan));
        table.AddRow("starts from", Markup.Escape(summary.Head));
        table.AddRow("written", Markup.Escape($"{folder}: {JobRecipe.FileName}, {JobFiles.Images}, {JobFiles.StartWeights}, {JobFiles.Script}, {JobFiles.Readme}"));
        table.AddRow("next", Markup.Escape($"torchrun --standalone --nproc_per_node <N> {Path.Combine(folder, JobFiles.Script)}; then: job import {settings.Out} --out out"));
        console.Write(table);
        return ExitCodes.Success;
    }
}

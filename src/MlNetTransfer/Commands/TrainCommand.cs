using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
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

    /// <summary>What `train --resume` may be given besides: the options TrainSettings declares itself (where the run
    /// is and how to read it), none of the recipe's.</summary>
    static readonly HashSet<string> ResumeOptions = typeof(TrainSettings)
        .GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
        .SelectMany(p => p.GetCustomAttributes(typeof(CommandOptionAttribute), false).Cast<CommandOptionAttribute>())
        .SelectMany(o => o.LongNames.Select(n => "--" + n)).ToHashSet(StringComparer.Ordinal);

    public override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (settings.Verbose) Runtime.LibTorchLogLevel.ShowWarnings();
            if (settings.Resume) RefuseTrainingOptions(context.Arguments);
            return Train(settings, cancellationToken);
        });

    /// <summary>A resumed run continues with the options it started with (resume.json): given again with --resume,
    /// another --epochs or --lr would be ignored while the user believes it applied, so it is refused instead.</summary>
    static void RefuseTrainingOptions(IReadOnlyList<string> arguments)
    {
        var given = arguments.Where(a => a.StartsWith("--")).Select(a => a.Split('=', ':')[0]).Where(a => !ResumeOptions.Contains(a)).Distinct().ToList();
        if (given.Count > 0)
            throw new CliException(ExitCodes.BadOption, $"{string.Join(", ", given)}: --resume continues the interrupted run with the options it started " +
                "with (kept in resume.json), so these would change nothing; drop them, or start a new run without --resume.");
    }

    int Train(TrainSettings settings, CancellationToken cancellationToken)
    {
        var output = Path.GetFullPath(settings.Out);
        // the run's options, built once: from the command line, or as the interrupted run was given them
        var (run, checkpoint) = settings.Resume ? ResumeState.Load(output) : (RunOf(settings), null);
        var options = run.Options;
        RunSettings.Check(options); // before any work: the data is not even listed for a bad option or missing weights
        var checkpointEvery = settings.CheckpointInterval();
        var mlContext = WorkFolder.NewContext(options.Seed, run.Device);
        TransferTrainPreflight.Device(mlContext, options); // a missing GPU too
        FolderOption.OutsideClassFolders(settings.Out, run.Data, "--out");
        FolderOption.Writable(settings.Out, "--out");
        using var outputLock = FolderOption.LockForWriting(output, "--out"); // two runs into one --out would mix their files
        WorkFolder.CleanStale(console, output);
        if (checkpoint == null && File.Exists(Path.Combine(output, ResumeState.FileName)))
            console.WriteLine($"{settings.Out} holds the checkpoint of an interrupted run: this run replaces it with its own, or removes it when it ends (train --resume --out {settings.Out} continues that run instead)");

        var cacheDir = (settings.CacheDir ?? run.CacheDir) is { } given ? FolderOption.Writable(given, "--cache-dir") : null; // a resumed run's own by default
        if (checkpoint == null) settings.CheckColumnsApply(run.Data, run.Test);
        var data = LabelledImageSet.Load(run.Data, run.Strict, maxPixels: options.MaxImagePixels, columns: run.Columns);
        if (checkpoint != null) run.CheckSameImages(data);
        run = run with { Images = ResumeState.Fingerprint(data), CacheDir = cacheDir }; // kept with a checkpoint, should this run be interrupted
        var split = TestSplit.Of(data, run.Test, run.Strict, options.Seed, options.MaxImagePixels, run.Columns); // too few images per class: refused here
        var (trainSet, testSet) = (split.Train, split.Test);
        SkippedImages.Report(console, data, ReportWriter.MetricsFile);
        if (run.Test != null) SkippedImages.Report(console, testSet, ReportWriter.MetricsFile);
        console.WriteLine($"training on {trainSet.Rows.Count} images in {trainSet.Classes.Count} classes from {data.Source}; testing on {testSet.Rows.Count} ({split.Source})");
        SkippedImages.ReportUnknown(console, split.UnknownClasses, "the training data");
        if (settings.Against is { } against) AgainstModel.Check(against, testSet); // a model to compare with that cannot be, before training
        MemoryCheck.Run(console, options, trainSet.Rows.Count, settings.NoMemoryCheck, cacheDir ?? Path.GetTempPath(), output); // before any image is decoded for training
        if (checkpoint != null)
            console.WriteLine($"resuming {checkpoint.Strategy} at {checkpoint.ImageSize} px from epoch {checkpoint.Epoch}, batch {checkpoint.BatchesDone + 1}");
        if (checkpointEvery is { } interval)
            console.WriteLine((interval == TimeSpan.Zero ? "a checkpoint at the end of every epoch"
                    : $"a checkpoint at an epoch's end at most every {(interval.TotalMinutes >= 1 ? $"{interval.TotalMinutes:0.#} min" : $"{interval.TotalSeconds:0.#} s")}") +
                $" in {settings.Out}: a run killed outright continues with train --resume --out {settings.Out}");

        // where this run reads and keeps: TransferTrain decodes the files itself, once, at the scale training needs,
        // upright (LoadImages stays in the saved model for apps that serve it from paths)
        (options.ImagePathColumnName, options.ImageFolder, options.CacheDirectory, options.ResumeFrom, options.CancellationToken) =
            (nameof(LabelledImage.ImagePath), trainSet.Root, cacheDir, checkpoint, cancellationToken);
        var keeper = new CheckpointKeeper(run, output, line => options.Log?.Invoke(line));
        if (checkpointEvery is { } every) (options.Checkpoint, options.CheckpointInterval) = (keeper.Keep, every);
        var rows = mlContext.Data.LoadFromEnumerable(trainSet.Rows);
        if (options.CheckData && testSet.Rows.Count > 0)
        {
            // the test images, keyed as the pipeline keys the training labels, for the data checks' leak search alone
            var keys = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(rows);
            var testRows = keys.Transform(mlContext.Data.LoadFromEnumerable(testSet.Rows));
            (options.TestSet, options.TestImageFolder) =
                (mlContext.Transforms.LoadImages("Image", testSet.Root, nameof(LabelledImage.ImagePath)).Fit(testRows).Transform(testRows), testSet.Root);
        }
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoadImages("Image", trainSet.Root, nameof(LabelledImage.ImagePath)))
            .Append(mlContext.TransferTrain(options))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var clock = Stopwatch.StartNew();
        TransformerChain<KeyToValueMappingTransformer> model;
        try
        {
            model = new TrainingProgressView(console).Run(options.Epochs, (progress, log) =>
            {
                options.Progress = progress;
                options.Log = log;
                return pipeline.Fit(rows);
            });
        }
        catch (TrainingCancelledException stopped)
        {
            return KeepCheckpoint(mlContext, stopped, run, output, settings.Out, replaces: !keeper.Kept);
        }
        catch (Exception e) when (keeper.Kept && e is not OperationCanceledException)
        {
            // the run failed after keeping a checkpoint (the GPU out of memory, a file gone): say it is there, then why
            console.MarkupLine($"[yellow]training failed[/]; the checkpoint kept after epoch {keeper.LastEpoch} stays in {Markup.Escape(output)}: " +
                $"train --resume --out {Markup.Escape(settings.Out)} continues from it once the cause below is fixed");
            throw;
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var transfer = model.OfType<TransferTrainTransformer>().Single();
        try
        {
            SkippedImages.ReportUnreadable(console, transfer.SkippedImages, $"of {trainSet.Source}", ReportWriter.MetricsFile);
            var flagged = DataHealthSummary.Show(console, transfer.DataHealth, trainSet, testSet);
            if (transfer.Training.StopReason is { } why)
                console.MarkupLine($"{(transfer.Training.Diverged ? "[yellow]stopped early[/]" : "stopped early")}: {Markup.Escape(why)}");
            RunOutputs.Write(console, mlContext, model, rows.Schema, transfer, testSet, output, options.MaxImagePixels, settings.Against, (test, evaluateSeconds) =>
                new TrainingReport(test, split.Source, transfer.Run, trainSet.Rows.Count - transfer.SkippedRows - transfer.DataHealth.Excluded, [.. data.Skipped, .. transfer.SkippedImages],
                    trainSeconds, evaluateSeconds)
                {
                    TestSkipped = run.Test != null ? testSet.Skipped : [], UnknownTestClasses = split.UnknownClasses,
                    DataHealth = transfer.DataHealth, DataIssues = flagged, TrainImageRoot = trainSet.Root,
                });
            TrainingCode.Write(output, options, DeviceOption.Parse(run.Device).GpuDeviceId, transfer.Run, trainSet, testSet);
            console.WriteLine($"{TrainingCode.File}: this run as C#; dotnet run {TrainingCode.File} trains it again");
            if (settings.WebApi)
            {
                var app = WebApiCode.Write(output, ModelFile, options.MaxImagePixels);
                console.MarkupLine($"web API written to {Markup.Escape(app)}: dotnet run --project {Markup.Escape(Path.Combine(settings.Out, WebApiCode.Folder))}, then POST an image to /predict");
            }
            ResumeState.Delete(output);
            return ExitCodes.Success;
        }
        finally
        {
            model.Dispose();
        }
    }

    /// <summary>Ctrl+C, SIGTERM or SIGHUP: the model at the cancelled batch and the run's state, for `train --resume`
    /// (<paramref name="replaces"/>: what an earlier run kept in --out goes first, its record before all).</summary>
    int KeepCheckpoint(MLContext mlContext, TrainingCancelledException stopped, ResumeState run, string output, string given, bool replaces)
    {
        using var partial = stopped.PartialModel;
        if (partial?.Training.Checkpoint is not { } state)
        {
            console.MarkupLine("[yellow]interrupted[/] before training started; nothing to keep.");
            return ExitCodes.Interrupted;
        }
        if (replaces) ResumeState.Delete(output);
        AtomicFile.Write(Path.Combine(output, ResumeState.CheckpointName), temp => mlContext.Model.Save(partial, stopped.InputSchema, temp));
        run.Save(output, state);
        console.MarkupLine($"[yellow]interrupted[/] in epoch {state.Epoch} after {state.BatchesDone} batch(es); checkpoint kept in {Markup.Escape(output)}. Continue with: train --resume --out {Markup.Escape(given)}");
        return ExitCodes.Interrupted;
    }

    static ResumeState RunOf(TrainSettings s)
    {
        var (data, test) = s.DataPaths();
        return ResumeState.Of(data, test, s.Strict, s.Device, s.ToOptions()) with { Columns = s.Columns() };
    }
}

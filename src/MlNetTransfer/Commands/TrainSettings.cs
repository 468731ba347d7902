using System.ComponentModel;
using MlNetTransfer.Cli.Data;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Options of `train`: the recipe's (<see cref="RunSettings"/>, which a resumed run takes from resume.json)
/// and those declared here, which say where the run is and how to read it and so go with --resume too.</summary>
public sealed class TrainSettings : RunSettings
{
    [CommandOption("--verbose")]
    [Description("Also print libtorch's own C++ warnings (off by default; TORCH_CPP_LOG_LEVEL=WARNING does the same).")]
    public bool Verbose { get; init; }

    [CommandOption("--out <FOLDER>")]
    [Description("Where model.zip and the report go. Default: out")]
    public string Out { get; init; } = "out";

    [CommandOption("--cache-dir <FOLDER>")]
    [Description("Keep the decoded training images here and reuse them while the image files are unchanged: a second run decodes nothing. Default: a temp file, removed after training.")]
    public string? CacheDir { get; init; }

    [CommandOption("--web-api")]
    [Description("Also write WebApi/, an ASP.NET Core app that serves model.zip with ML.NET alone: POST an image to /predict, GET /health (`dotnet run` in that folder).")]
    public bool WebApi { get; init; }

    [CommandOption("--no-memory-check")]
    [Description("Train even when the estimated memory exceeds what is available.")]
    public bool NoMemoryCheck { get; init; }

    [CommandOption("--checkpoint-every <DURATION>")]
    [Description("While training, keep a checkpoint in --out at the end of an epoch at most this often, so that a run killed outright (out of memory, kill -9, the machine lost) continues with --resume: 90s, 10m (a plain number is minutes), 0 for every epoch, or off. Default: 2m.")]
    public string? CheckpointEvery { get; init; }

    /// <summary>--checkpoint-every as a time between checkpoints; null: off.</summary>
    public TimeSpan? CheckpointInterval() =>
        CheckpointEvery == null ? Engine.Training.TrainingContext.DefaultCheckpointInterval
        : CheckpointEvery.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? null
        : ParseDuration(CheckpointEvery) is { } every && every >= TimeSpan.Zero ? every
        : throw new CliException(ExitCodes.BadOption, $"--checkpoint-every must be a duration such as 90s or 10m, 0 for every epoch, or off, not '{CheckpointEvery}'.");

    [CommandOption("--against <PATH>")]
    [Description("Also score this model.zip (the model in production, an earlier run) on the test images and say in the summary, report.html and metrics.json whether the new model is more accurate beyond chance (McNemar's exact test) and its log-loss difference with a 95 % interval, as evaluate --against does.")]
    public string? Against { get; init; }

    [CommandOption("--resume")]
    [Description("Continue an interrupted run from the checkpoint in --out.")]
    public bool Resume { get; init; }
}

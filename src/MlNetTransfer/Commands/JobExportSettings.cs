using System.ComponentModel;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Options of `job export`: train's recipe options, and the job folder.</summary>
public sealed class JobExportSettings : RunSettings
{
    [CommandOption("--out <FOLDER>")]
    [Description("The job folder to write (recipe.json, images.csv, start.safetensors, train_ddp.py, README.md). Default: job")]
    public string Out { get; init; } = "job";
}

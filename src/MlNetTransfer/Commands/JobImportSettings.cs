using System.ComponentModel;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Options of `job import`.</summary>
public sealed class JobImportSettings : CommandSettings, ICsvColumnSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job folder, after train_ddp.py has written trained.safetensors, history.json and check.safetensors.")]
    public string Job { get; init; } = "";

    [CommandOption("--test <PATH>")]
    [Description("Test images (folder or CSV) for the report. Default: the job's test rows (held out at export), else its validation rows.")]
    public string? Test { get; init; }

    [CommandOption("--image-column <NAME>")]
    [Description(CsvColumnOptions.ImageHelp)]
    public string? ImageColumn { get; init; }

    [CommandOption("--label-column <NAME>")]
    [Description(CsvColumnOptions.LabelHelp)]
    public string? LabelColumn { get; init; }

    [CommandOption("--image-root <FOLDER>")]
    [Description("Where images.csv's paths are, when not where the job was exported.")]
    public string? ImageRoot { get; init; }

    /// <summary>--image-root is images.csv's; a --test CSV's paths start from its own folder.</summary>
    string? ICsvColumnSettings.ImageRoot => null;

    [CommandOption("--out <FOLDER>")]
    [Description("Where model.zip and the report go. Default: out")]
    public string Out { get; init; } = "out";

    [CommandOption("--strict")]
    [Description("Fail on the first unreadable or missing test image instead of skipping and reporting it.")]
    public bool Strict { get; init; }

    [CommandOption("--no-unfamiliar")]
    [Description("Do not read the job's training and validation images to learn which images the model should call unfamiliar (no Unfamiliar column, no familiar column in predict).")]
    public bool NoUnfamiliar { get; init; }
}

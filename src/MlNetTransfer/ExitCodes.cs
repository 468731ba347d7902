namespace MlNetTransfer.Cli;

/// <summary>Process exit codes; each failure kind has its own so scripts can tell them apart.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Spectre.Console.Cli's code for unknown commands or options and invalid settings (255 as a process code).</summary>
    public const int UsageError = -1;
    /// <summary>The --data folder or CSV does not exist.</summary>
    public const int DataNotFound = 2;
    /// <summary>No readable image (an empty folder, no class folders, an empty CSV body).</summary>
    public const int EmptyData = 3;
    /// <summary>Only one class: nothing to classify.</summary>
    public const int SingleClass = 4;
    /// <summary>The CSV cannot be read or lacks its image or class column.</summary>
    public const int UnreadableCsv = 5;
    /// <summary>Unreadable or missing images with --strict.</summary>
    public const int UnreadableImages = 6;
    /// <summary>A model file is missing or is not a model this tool wrote.</summary>
    public const int BadModel = 7;
    /// <summary>An option value is invalid (architecture, weights file, device that is not there, --out not writable...).</summary>
    public const int BadOption = 8;
    /// <summary>Some class has too few images to hold one out for testing (named with its count), before any work.</summary>
    public const int TooFewImages = 9;
    /// <summary>TorchSharp's native backend could not be loaded on this machine.</summary>
    public const int TorchUnavailable = 10;
    /// <summary>An unexpected failure (a defect of this tool): the message names the exception.</summary>
    public const int InternalError = 1;
    /// <summary>Training was interrupted (Ctrl+C or SIGTERM); a checkpoint was kept for train --resume.</summary>
    public const int Interrupted = 130;
}

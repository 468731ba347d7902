using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary><c>--image-column</c> and <c>--label-column</c>: their help, and what they make of a command's
/// <see cref="ICsvColumnSettings"/>.</summary>
public static class CsvColumnOptions
{
    public const string ImageHelp = "The column of a CSV of labelled images that holds the image paths. Default: filename, else ImagePath (any case).";
    public const string LabelHelp = "The column of a CSV of labelled images that holds the classes. Default: target, else Label (any case).";

    /// <summary>How the command reads a CSV of labelled images.</summary>
    public static CsvColumns Columns(this ICsvColumnSettings settings) => new(settings.ImageColumn, settings.LabelColumn);

    /// <summary>Refuses a column named where none of <paramref name="paths"/> (the labelled images the command reads)
    /// is a CSV: the option would change nothing while the user believes it applied.</summary>
    public static void CheckColumnsApply(this ICsvColumnSettings settings, params string?[] paths)
    {
        if (!settings.Columns().Named || paths.Any(p => p != null && File.Exists(p))) return;
        var given = settings.ImageColumn != null ? "--image-column" : "--label-column";
        throw new CliException(ExitCodes.BadOption, $"{given} names a column of a CSV, and no CSV is read here " +
            $"({string.Join(", ", paths.Where(p => p != null))}: a folder of class folders); leave it out.");
    }
}

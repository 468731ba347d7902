using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary><c>--image-column</c>, <c>--label-column</c> and <c>--image-root</c>: their help, and what they make of a
/// command's <see cref="ICsvColumnSettings"/>.</summary>
public static class CsvColumnOptions
{
    public const string ImageHelp = "The column of a CSV of labelled images that holds the image paths. Default: filename, else ImagePath (any case).";
    public const string LabelHelp = "The column of a CSV of labelled images that holds the classes. Default: target, else Label (any case).";
    public const string RootHelp = "The folder a CSV's image paths start from, where that is not the CSV's own folder (a train.csv beside its train_images/ folder: --image-root train_images).";

    /// <summary>How the command reads a CSV of labelled images.</summary>
    public static CsvColumns Columns(this ICsvColumnSettings settings) =>
        new(settings.ImageColumn, settings.LabelColumn, settings.ImageRoot is { } root ? Path.GetFullPath(root) : null);

    /// <summary>Refuses a column or a root named where none of <paramref name="paths"/> (the labelled images the
    /// command reads) is a CSV: the option would change nothing while the user believes it applied; and a root that is
    /// no folder.</summary>
    public static void CheckColumnsApply(this ICsvColumnSettings settings, params string?[] paths)
    {
        CheckRoot(settings.ImageRoot);
        var columns = settings.Columns();
        if (!columns.Named && columns.Root == null || paths.Any(p => p != null && File.Exists(p))) return;
        var given = settings.ImageColumn != null ? "--image-column names a column of a CSV"
            : settings.LabelColumn != null ? "--label-column names a column of a CSV" : "--image-root is where a CSV's image paths start";
        throw new CliException(ExitCodes.BadOption, $"{given}, and no CSV is read here " +
            $"({string.Join(", ", paths.Where(p => p != null))}: a folder of class folders); leave it out.");
    }

    /// <summary>Refuses an <c>--image-root</c> that is not a folder.</summary>
    public static void CheckRoot(string? root)
    {
        if (root != null && !Directory.Exists(root))
            throw new CliException(ExitCodes.BadOption, $"--image-root {root}: no such folder; it names the folder a CSV's image paths start from.");
    }
}

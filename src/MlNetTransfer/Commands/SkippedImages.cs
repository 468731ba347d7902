using MlNetTransfer.Cli.Data;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Says which images of a set were skipped and why (the count, then the first 20 by name), which files and
/// hidden folders were left alone, which classes hold no readable image, and how many images ML.NET will read turned
/// (EXIF orientation).</summary>
public static class SkippedImages
{
    public static void Report(IAnsiConsole console, LabelledImageSet set, string whereAllAreListed)
    {
        if (set.NotImages is { } others)
            console.MarkupLine(Markup.Escape($"left alone in {set.Source}: files that are not images by their extension ({others}); " +
                $"images are {string.Join(" ", LabelledImageSet.ImageExtensions.Order(StringComparer.Ordinal))}"));
        void LeftAlone(IReadOnlyList<string> folders, string what, string why)
        {
            if (folders.Count > 0)
                console.WriteLine($"left alone in {set.Source}: {what}{string.Join(", ", folders.Take(5))}" +
                    (folders.Count > 5 ? $" and {folders.Count - 5} more" : "") + " " + why);
        }
        LeftAlone(set.HiddenFolders, "hidden folder(s) ", "(names starting with a dot, __MACOSX): not classes, not images");
        LeftAlone(set.OutputFolders, "", "(what train wrote there: model.zip, metrics.json, charts): not a class");
        LeftAlone(set.RepeatedFolders, "", "(links to folders read already): each folder's images once");
        if (set.LeftOutClasses.Count > 0)
            console.MarkupLine($"[yellow]{Markup.Escape(set.Source)}: {Markup.Escape(LabelledImageSet.DescribeLeftOut(set.LeftOutClasses))}[/] (use --strict to fail instead)");
        if (set.Turned.Count > 0)
            console.WriteLine($"{set.Turned.Count} image(s) carry an EXIF orientation (e.g. {set.Turned[0]} in {set.Source}) that ML.NET's LoadImages " +
                "does not apply: they train and are scored as stored, turned; rotate them on disk first (exiftran -ai, mogrify -auto-orient) if they should be upright");
        if (set.Skipped.Count == 0) return;
        console.MarkupLine($"[yellow]skipped {set.Skipped.Count} image(s)[/] of {Markup.Escape(set.Source)} (use --strict to fail instead):");
        foreach (var line in set.Skipped.Take(20)) console.WriteLine($"  {line}");
        if (set.Skipped.Count > 20) console.WriteLine($"  ... and {set.Skipped.Count - 20} more (all listed in {whereAllAreListed})");
    }

    /// <summary>Test images of classes <paramref name="whose"/> lacks: one line, left out of the metrics.</summary>
    public static void ReportUnknown(IAnsiConsole console, IReadOnlyDictionary<string, int> unknown, string whose)
    {
        if (unknown.Count > 0) console.MarkupLine($"[yellow]{Markup.Escape(TestSplit.DescribeUnknown(unknown, whose))}[/]");
    }
}

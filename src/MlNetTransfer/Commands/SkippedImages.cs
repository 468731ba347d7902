using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Says which images of a set were skipped and why (the count, then each by name: the first 20 where a file
/// the command writes lists them all, every one where the screen is the only place), which files and hidden folders
/// were left alone, which classes hold no readable image, and how many images carry an EXIF orientation that ML.NET's
/// LoadImages does not apply.</summary>
public static class SkippedImages
{
    /// <summary><paramref name="whereAllAreListed"/>: the file that lists every skipped image; null: none does, so
    /// the screen shows them all.</summary>
    public static void Report(IAnsiConsole console, LabelledImageSet set, string? whereAllAreListed)
    {
        ReportNotImages(console, set.Source, set.NotImages);
        ReportExtensionsAdded(console, set.Source, set.ExtensionsAdded);
        void LeftAlone(IReadOnlyList<string> folders, string what, string why)
        {
            if (folders.Count > 0)
                console.WriteLine($"left alone in {set.Source}: {what}{string.Join(", ", folders.Take(5))}" +
                    (folders.Count > 5 ? $" and {folders.Count - 5} more" : "") + " " + why);
        }
        LeftAlone(set.HiddenFolders, "hidden folder(s) ", "(names starting with a dot, __MACOSX): not classes, not images");
        LeftAlone(set.OutputFolders, "", "(what train wrote there: model.zip, metrics.json, charts): not a class");
        LeftAlone(set.RepeatedFolders, "", "(links to folders read already): each folder's images once");
        if (set.UnreadableFolders.Count > 0)
            console.MarkupLine($"[yellow]{Markup.Escape(set.Source)}: {set.UnreadableFolders.Count} folder(s) could not be read and are left out[/]: " +
                Markup.Escape(string.Join("; ", set.UnreadableFolders.Take(5)) + (set.UnreadableFolders.Count > 5 ? "; …" : "")));
        if (set.LeftOutClasses.Count > 0)
            console.MarkupLine($"[yellow]{Markup.Escape(set.Source)}: {Markup.Escape(LabelledImageSet.DescribeLeftOut(set.LeftOutClasses))}[/] (use --strict to fail instead)");
        foreach (var lookAlike in set.LookAlikeClasses)
            console.MarkupLine($"[yellow]{Markup.Escape(set.Source)}: classes {Markup.Escape(lookAlike)}[/]: they stay separate classes " +
                "(file names on Linux are bytes); rename one if they are meant to be one");
        if (set.Turned.Count > 0)
            console.WriteLine($"{set.Turned.Count} image(s) carry an EXIF orientation (e.g. {set.Turned[0]} in {set.Source}): they train and are scored " +
                "upright, as the orientation asks, but ML.NET's LoadImages reads them as stored, turned — an app that serves model.zip with LoadImages " +
                $"must decode them as {ReportWriter.ConsumeFile} does (its ImageDecoding class), or rotate the files first (exiftran -ai, mogrify -auto-orient)");
        if (set.Skipped.Count == 0) return;
        console.MarkupLine($"[yellow]skipped {set.Skipped.Count} image(s)[/] of {Markup.Escape(set.Source)} (use --strict to fail instead):");
        List(console, set.Skipped, whereAllAreListed);
    }

    /// <summary>The files of <paramref name="source"/> left alone as not images, and how to convert those that are images
    /// SkiaSharp cannot decode.</summary>
    public static void ReportNotImages(IAnsiConsole console, string source, NotImageFiles files)
    {
        if (files.Description is { } others)
            console.MarkupLine(Markup.Escape($"left alone in {source}: files that are not images by their extension ({others}); " +
                $"images are {string.Join(" ", LabelledImageSet.ImageExtensions.Order(StringComparer.Ordinal))}"));
        if (files.ConversionHint is { } hint) console.MarkupLine($"[yellow]{Markup.Escape(hint)}[/]");
    }

    /// <summary>The rows of <paramref name="source"/> that name their image without its extension, read as the one
    /// image file of that name.</summary>
    public static void ReportExtensionsAdded(IAnsiConsole console, string source, (int Count, string? Example) added)
    {
        if (added.Count > 0)
            console.WriteLine($"{added.Count} row(s) of {source} name their image without its extension ({added.Example}): " +
                "each read as the one image file of that name");
    }

    /// <summary>"  path: why" for each, the first 20 when <paramref name="whereAllAreListed"/> names a file that holds
    /// them all.</summary>
    static void List(IAnsiConsole console, IReadOnlyList<string> skipped, string? whereAllAreListed)
    {
        int shown = whereAllAreListed == null ? skipped.Count : Math.Min(20, skipped.Count);
        foreach (var line in skipped.Take(shown)) console.WriteLine($"  {line}");
        if (skipped.Count > shown) console.WriteLine($"  ... and {skipped.Count - shown} more (all listed in {whereAllAreListed})");
    }

    /// <summary>Images that were listed but could not be decoded when they were read (a truncated or damaged file: the
    /// header reads, the pixels end early), "path: why", for <paramref name="what"/>.</summary>
    public static void ReportUnreadable(IAnsiConsole console, IReadOnlyList<string> unreadable, string what, string? whereAllAreListed)
    {
        if (unreadable.Count == 0) return;
        console.MarkupLine($"[yellow]skipped {unreadable.Count} image(s)[/] {Markup.Escape(what)} that could not be decoded (use --strict to fail instead):");
        List(console, unreadable, whereAllAreListed);
    }

    /// <summary>Test images of classes <paramref name="whose"/> lacks: one line, left out of the metrics.</summary>
    public static void ReportUnknown(IAnsiConsole console, IReadOnlyDictionary<string, int> unknown, string whose, string leftOutOf = TestSplit.MetricsLeftOut)
    {
        if (unknown.Count > 0) console.MarkupLine($"[yellow]{Markup.Escape(TestSplit.DescribeUnknown(unknown, whose, leftOutOf))}[/]");
    }
}

using MlNetTransfer.Cli.Data;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>A training run's data checks on screen once it ends: the surest few of each kind.</summary>
public static class DataHealthSummary
{
    /// <summary>Rows per kind on screen after training (the report and metrics.json have them all).</summary>
    public const int Shown = 5;

    /// <summary>Writes the findings and returns every flagged image by path (empty when the run did not check).</summary>
    public static IReadOnlyList<FlaggedImage> Show(IAnsiConsole console, DataHealthReport health, LabelledImageSet train, LabelledImageSet test)
    {
        if (!health.Checked) return [];
        var (trainPaths, testPaths) = (train.Paths(), test.Paths()); // listed once, not once per flagged image
        var flagged = health.Issues.Select(i => FlaggedImage.Of(i, health.Classes, trainPaths, testPaths)).ToList();
        // the run's log gave the counts as the checks ended: here the surest of each kind, the rest in the report
        if (flagged.Count > 0) console.WriteLine($"flagged by the data checks (all {flagged.Count} in {ReportWriter.HtmlFile} and {ReportWriter.MetricsFile}):");
        DataHealthTable.Write(console, health, flagged, Shown);
        return flagged;
    }
}

using MlNetTransfer.Engine.Health;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>The data checks' findings on screen: one table per kind, surest first, up to a number of rows each.</summary>
public static class DataHealthTable
{
    public static void Write(IAnsiConsole console, DataHealthReport report, IReadOnlyList<FlaggedImage> flagged, int shown)
    {
        foreach (var kind in Enum.GetValues<DataIssueKind>())
        {
            var some = flagged.Where(f => f.Kind == FlaggedImage.Name(kind)).Take(shown).ToList();
            if (some.Count == 0) continue;
            // an outlier or an unfamiliar image stands alone: no column for another class or image
            string? other = kind switch { DataIssueKind.LabelError => "likely", DataIssueKind.Outlier or DataIssueKind.Unfamiliar => null, _ => "copy of" };
            var table = new Table().Title(Markup.Escape($"{FlaggedImage.Name(kind)} ({report.Count(kind)}, surest first)")).AddColumn("image").AddColumn("label");
            if (other != null) table.AddColumn(other);
            table.AddColumn("score");
            foreach (var f in some)
                table.AddRow([Markup.Escape(f.Path), Markup.Escape(f.Label ?? "—"), .. other == null ? (string[])[] : [Markup.Escape(f.Suggested ?? f.Other ?? "")], $"{f.Score:0.000}"]);
            console.Write(table);
        }
    }
}

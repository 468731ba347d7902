using MlNetTransfer.Cli;
using Spectre.Console;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>The CLI's console where its output is a file or a pipe: lines of text whole, tables laid out in a width.</summary>
public class LogConsoleTests
{
    const string Long = "strategy WholeNetwork: WholeNetwork at 112 px — the whole network at discriminative rates (the data resembles the pretraining data): 10 epochs × 15.1 s + 12 s after = 163 s ≤ the 580 s left of the 600 s budget";

    [Fact]
    public void A_line_of_text_or_markup_is_written_whole_however_long()
    {
        var inner = new TestConsole();
        var console = new LogConsole(inner, width: 60);

        console.WriteLine(Long);
        console.MarkupLine($"[bold]{Markup.Escape(Long)}[/]");

        var lines = inner.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([Long, Long], lines.Select(l => l.TrimEnd()));
        Assert.Equal(60, inner.Profile.Width); // the width is back for the next table
    }

    [Fact]
    public void A_table_is_laid_out_in_the_logs_width_with_its_cells_wrapped_inside()
    {
        var inner = new TestConsole();
        var console = new LogConsole(inner, width: 60);

        console.Write(new Table().AddColumn("").AddColumn("").AddRow("strategy", Markup.Escape(Long)));

        var lines = inner.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.True(line.TrimEnd().Length <= 60, line));
        Assert.True(lines.Length > 4, inner.Output); // the reason wrapped inside its cell
    }

    [Fact]
    public void Output_that_is_not_a_terminal_gets_the_log_console_in_columns_or_160()
    {
        using var writer = new StringWriter();
        var console = LogConsole.For(writer);

        Assert.IsType<LogConsole>(console);
        var columns = Environment.GetEnvironmentVariable("COLUMNS");
        Assert.Equal(int.TryParse(columns, out int c) && c > 0 ? c : LogConsole.LogWidth, console.Profile.Width);
        console.WriteLine(Long);
        Assert.Equal(Long, writer.ToString().TrimEnd());
    }
}

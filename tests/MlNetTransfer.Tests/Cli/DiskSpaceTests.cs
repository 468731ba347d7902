using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Recipe;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A full disk is the user's to fix, and said so: `train` refuses an --out whose disk cannot take the model
/// and report before it trains (it used to find out when saving, after the whole run), and a write that still runs
/// out of space names the file and the options that move it, with code 8, not a defect's stack trace.</summary>
public class DiskSpaceTests
{
    /// <summary>An estimate whose network weighs <paramref name="weightBytes"/> as float32.</summary>
    static MemoryEstimate Network(long weightBytes) => new(0, 0, ParameterBytes: 5 * weightBytes, Side: 224, BatchSize: 32, DiskBytes: 0);

    [Fact]
    public void An_out_folder_without_room_for_the_model_and_report_is_refused_with_both_sizes()
    {
        var error = Assert.Throws<CliException>(() => MemoryCheck.CheckOutput(Network(50_000_000), "/data/out", free: 20_000_000));

        Assert.Equal(ExitCodes.BadOption, error.ExitCode);
        Assert.Contains("need about 67 MB in /data/out, more than the 20 MB free there", error.Message);
        Assert.Contains("--no-memory-check", error.Message);
        MemoryCheck.CheckOutput(Network(50_000_000), "/data/out", free: 67_000_000); // room: nothing said
    }

    [Fact]
    public void A_write_that_runs_out_of_space_is_named_with_the_options_that_move_it_and_exit_8()
    {
        var console = new TestConsole();
        var full = CommandErrors.Run(console, () => throw new IOException("No space left on device : '/data/out/.model.zip.1-2.tmp'", 28));
        var other = CommandErrors.Run(new TestConsole(), () => throw new IOException("Input/output error", 5));

        var said = console.Output.ReplaceLineEndings(" ").Replace("  ", " "); // the test console wraps at 80 columns
        Assert.Equal(ExitCodes.BadOption, full);
        Assert.Contains("/data/out/.model.zip.1-2.tmp'", said);
        Assert.Contains("the disk is full", said);
        Assert.Contains("--out", said);
        Assert.DoesNotContain(" at ", said);
        Assert.Equal(ExitCodes.InternalError, other); // any other I/O failure is still reported as unexpected
    }
}

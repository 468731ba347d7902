using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Turns the failures a user can cause into a one-line message and the exit code for its kind.</summary>
public static class CommandErrors
{
    public static int Run(IAnsiConsole console, Func<int> command)
    {
        try
        {
            return command();
        }
        catch (CliException e) { return Fail(console, e.Message, e.ExitCode); }
        catch (TorchLoadException e) { return Fail(console, e.Message, ExitCodes.TorchUnavailable); }
        catch (NoPretrainedWeightsException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (WeightMismatchException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (FileNotFoundException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (ArgumentException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (InvalidDataException e) { return Fail(console, e.Message, ExitCodes.BadModel); }
    }

    static int Fail(IAnsiConsole console, string message, int code)
    {
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        return code;
    }
}

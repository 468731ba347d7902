using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Devices;
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
        catch (MlNet.UnreadableImagesException e) { return Fail(console, $"{e.Message} (--strict)", ExitCodes.UnreadableImages); }
        catch (TorchLoadException e) { return Fail(console, e.Message, ExitCodes.TorchUnavailable); }
        catch (NoPretrainedWeightsException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (WeightMismatchException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (FileNotFoundException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (WeightsFileException e) { return Fail(console, e.Message, ExitCodes.BadOption); } // whatever the extension
        catch (ArgumentException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (InvalidDataException e) { return Fail(console, e.Message, ExitCodes.BadModel); }
        catch (Engine.Jobs.JobFileException e) { return Fail(console, e.Message, ExitCodes.BadModel); } // a job folder that is incomplete or disagrees
        catch (DirectoryNotFoundException e) { return Fail(console, e.Message, ExitCodes.DataNotFound); }
        catch (UnauthorizedAccessException e) { return Fail(console, $"{e.Message} (permission denied)", ExitCodes.DataNotFound); } // names the path
        catch (DeviceUnavailableException e) { return Fail(console, e.Message, ExitCodes.BadOption); }
        catch (OperationCanceledException) { return Fail(console, "interrupted; nothing to keep.", ExitCodes.Interrupted); }
        catch (IOException e) when (IsDiskFull(e))
        {
            // the environment, not a defect: a file being written is removed, what was there before stays
            return Fail(console, $"{e.Message.TrimEnd()}: the disk is full; free space, or write elsewhere (--out, --csv, --json, --cache-dir, TMPDIR).", ExitCodes.BadOption);
        }
        catch (Exception e)
        {
            // not a failure a user can cause: say what it was, with the code kept for defects (never 255, which means usage)
            return Fail(console, $"unexpected {e.GetType().Name}: {e.Message}{Environment.NewLine}{e.StackTrace}", ExitCodes.InternalError);
        }
    }

    /// <summary>A write that failed for want of space: ENOSPC (28) or EDQUOT (122) on Linux, where .NET keeps the errno
    /// as the HResult; ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL on Windows.</summary>
    internal static bool IsDiskFull(IOException e) => e.HResult is 28 or 122 or unchecked((int)0x80070070) or unchecked((int)0x80070027);

    static int Fail(IAnsiConsole console, string message, int code)
    {
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        return code;
    }
}

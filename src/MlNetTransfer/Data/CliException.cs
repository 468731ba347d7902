namespace MlNetTransfer.Cli.Data;

/// <summary>A user-facing failure with its own exit code; the message names the file, column or option.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

namespace MlNetTransfer.Cli;

/// <summary>Process exit codes; each failure kind has its own so scripts can tell them apart.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Spectre.Console.Cli's own code for unknown commands or options and invalid settings.</summary>
    public const int UsageError = -1;
    /// <summary>TorchSharp's native backend could not be loaded on this machine.</summary>
    public const int TorchUnavailable = 10;
}

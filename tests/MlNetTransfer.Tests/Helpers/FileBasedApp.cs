namespace MlNetTransfer.Tests;

/// <summary>Runs a .NET 10 file-based app as a user does: <c>dotnet run app.cs -- args</c> in a working folder.</summary>
public static class FileBasedApp
{
    /// <summary>Asserts it exits with 0 within 10 minutes; returns what it wrote to stdout and stderr.</summary>
    public static Task<(string Stdout, string Stderr)> Run(string file, string workingFolder, params string[] args) =>
        Task.Run(() => ChildProcess.Run("dotnet", ["run", file, .. args.Length == 0 ? Array.Empty<string>() : ["--", .. args]], workingFolder));
}

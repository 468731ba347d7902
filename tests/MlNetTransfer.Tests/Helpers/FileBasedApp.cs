namespace MlNetTransfer.Tests;

/// <summary>Runs a .NET 10 file-based app as a user does: <c>dotnet run app.cs -- args</c> in a working folder.</summary>
public static class FileBasedApp
{
    /// <summary>Asserts it exits with 0 within 10 minutes; returns what it wrote to stdout and stderr. The build goes to a
    /// temporary artifacts folder deleted afterwards: by default `dotnet run` keeps it under
    /// ~/.local/share/dotnet/runfile/, one folder per file path (about 340 MB for a consumption app, 1.4 GB for a
    /// training script), so every test run in a new temporary folder would leave that much behind.</summary>
    public static Task<(string Stdout, string Stderr)> Run(string file, string workingFolder, params string[] args) =>
        Task.Run(() =>
        {
            using var artifacts = new TempDirectory();
            return ChildProcess.Run("dotnet",
                ["run", file, "--artifacts-path", artifacts.Path, .. args.Length == 0 ? Array.Empty<string>() : ["--", .. args]],
                workingFolder);
        });
}

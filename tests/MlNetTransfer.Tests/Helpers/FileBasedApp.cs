using System.Diagnostics;

namespace MlNetTransfer.Tests;

/// <summary>Runs a .NET 10 file-based app as a user does: <c>dotnet run app.cs -- args</c> in a working folder.</summary>
public static class FileBasedApp
{
    /// <summary>Asserts it exits with 0 within 10 minutes; returns what it wrote to stdout and stderr.</summary>
    public static async Task<(string Stdout, string Stderr)> Run(string file, string workingFolder, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", ["run", file, .. args.Length == 0 ? Array.Empty<string>() : ["--", .. args]])
        { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingFolder };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var errors = await stderr;
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(10)), $"dotnet run {file}: still running after 10 minutes");
        Assert.True(process.ExitCode == 0, $"dotnet run {file} in {workingFolder}: exit {process.ExitCode}\n{stdout}\n{errors}");
        return (stdout, errors);
    }
}

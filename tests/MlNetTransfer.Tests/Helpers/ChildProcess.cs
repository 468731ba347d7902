using System.Diagnostics;

namespace MlNetTransfer.Tests;

/// <summary>Runs a program to its end as a user's shell would, and asserts it succeeded.</summary>
public static class ChildProcess
{
    /// <summary>Asserts exit 0 within <paramref name="minutes"/>; returns stdout and stderr.</summary>
    public static (string Stdout, string Stderr) Run(string file, IEnumerable<string> arguments, string workingFolder,
        int minutes = 10, IReadOnlyDictionary<string, string?>? environment = null, Stream? standardInput = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = standardInput != null,
            WorkingDirectory = workingFolder,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (standardInput != null)
        {
            standardInput.CopyTo(process.StandardInput.BaseStream);
            process.StandardInput.Close();
        }
        var finished = process.WaitForExit(TimeSpan.FromMinutes(minutes));
        if (!finished) process.Kill(entireProcessTree: true);
        var command = $"{file} {string.Join(' ', start.ArgumentList)}";
        Assert.True(finished, $"{command}: still running after {minutes} minutes");
        Assert.True(process.ExitCode == 0, $"{command} in {workingFolder}: exit {process.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        return (stdout.Result, stderr.Result);
    }
}

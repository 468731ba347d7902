using System.Diagnostics;
using System.Text.Json;

namespace MlNetTransfer.Tests;

/// <summary>Runs tests/MlNetTransfer.ConsumerProbe (ML.NET packages only) on a model zip in a child process.</summary>
public static class ConsumerProbeProcess
{
    /// <summary>Scores <paramref name="rows"/> (paths relative to <paramref name="root"/>) with PredictionEngine and
    /// Evaluate; returns the probe's result.json (predictions, MicroAccuracy, LogLoss, assemblies).</summary>
    public static JsonDocument Score(string zip, string root, IEnumerable<(string Path, string Label)> rows, TempDirectory temp, out string probeTemp)
    {
        File.WriteAllLines(temp.File("rows.tsv"), rows.Select(r => $"{r.Path}\t{r.Label}"));
        probeTemp = Directory.CreateDirectory(temp.File("probe-temp")).FullName;
        var start = new ProcessStartInfo("dotnet", [TestPaths.ConsumerProbe, zip, root, temp.File("rows.tsv"), temp.File("result.json"), probeTemp])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"probe failed ({process.ExitCode}): {stdout}\n{stderr.Result}");
        return JsonDocument.Parse(File.ReadAllText(temp.File("result.json")));
    }
}

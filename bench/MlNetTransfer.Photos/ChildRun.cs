using System.Diagnostics;

namespace MlNetTransfer.Photos;

/// <summary>A command run as its own process, as a user runs it: its wall clock, its peak resident memory (VmHWM,
/// read while it runs) and what it printed.</summary>
public sealed record ChildRun(double Seconds, double PeakMegabytes, string Output)
{
    public static ChildRun Of(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["COLUMNS"] = "200";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        double peak = 0;
        while (!process.WaitForExit(50)) peak = Math.Max(peak, PeakOf(process.Id));
        double seconds = clock.Elapsed.TotalSeconds;
        var output = stdout.Result + stderr.Result;
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        return new ChildRun(seconds, peak, output);
    }

    /// <summary>Debian's python3 (python3-pil, python3-numpy) where it is, else whatever python3 the PATH has.</summary>
    public static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>The mlnet-transfer CLI built next to this benchmark.</summary>
    public static ChildRun Cli(params string[] arguments) => Of("dotnet", [Cli(), .. arguments]);

    static string Cli() => typeof(ChildRun).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "Cli").Value!;

    static double PeakOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
            return line == null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (IOException)
        {
            return 0; // it ended between the check and the read
        }
    }
}

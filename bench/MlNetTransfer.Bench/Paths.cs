namespace MlNetTransfer.Bench;

/// <summary>The repository's sample images, found from the working directory upwards; the process's memory.</summary>
public static class Paths
{
    public static string Repository()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MlNetTransfer.sln"))) return dir.FullName;
        throw new InvalidOperationException("run the benchmark from inside the MlNetTransfer repository");
    }

    public static string Samples() => Path.Combine(Repository(), "data-samples", "fashion-mnist");

    /// <summary>VmHWM: the most resident memory this process has held.</summary>
    public static double PeakResidentMegabytes() => StatusMegabytes("VmHWM:");

    /// <summary>VmRSS: the resident memory this process holds now.</summary>
    public static double ResidentMegabytes() => StatusMegabytes("VmRSS:");

    /// <summary>A memory line of /proc/self/status, in MB (NaN where there is none).</summary>
    static double StatusMegabytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field));
        return line == null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}

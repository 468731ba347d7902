using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>States the memory a `train` run will need before it starts, and refuses one that would not fit in the
/// memory available now (exit 8, naming the options that size it) unless told to try anyway.</summary>
public static class MemoryCheck
{
    /// <summary>What the written model and report take beside the network's weights: the charts, report.html with its
    /// thumbnails, metrics.json, Consume.cs and the web API.</summary>
    const long ReportBytes = 16L << 20;

    /// <summary>States the estimate and refuses a run that does not fit in memory, whose decoded images do not fit on
    /// the disk of <paramref name="cacheFolder"/>, or whose model and report do not fit in <paramref name="output"/>
    /// (found full only when the model was trained, it was lost with the run), unless <paramref name="tryAnyway"/>.</summary>
    public static MemoryEstimate Run(IAnsiConsole console, TransferTrainOptions options, int images, bool tryAnyway, string cacheFolder, string output)
    {
        var estimate = TransferTrainPreflight.Resources(options, images);
        long available = AvailableBytes();
        console.WriteLine($"memory: {estimate.Describe()}; {available / 1e9:0.0} GB available");
        if (estimate.TotalBytes > available && !tryAnyway)
            throw new CliException(ExitCodes.BadOption,
                $"this run needs {estimate.Describe()}, more than the {available / 1e9:0.0} GB available: lower --image-size " +
                "or --batch-size, or pass --no-memory-check to try anyway.");
        long free = FreeDiskBytes(cacheFolder);
        console.WriteLine($"disk: decoded images up to {estimate.DiskBytes / 1e9:0.0} GB in {cacheFolder}; {free / 1e9:0.0} GB free");
        if (estimate.DiskBytes > free && !tryAnyway)
            throw new CliException(ExitCodes.BadOption,
                $"the decoded images need up to {estimate.DiskBytes / 1e9:0.0} GB in {cacheFolder}, more than the {free / 1e9:0.0} GB free there: " +
                "free space, point --cache-dir (or TMPDIR) elsewhere, lower --image-size, or pass --no-memory-check to try anyway.");
        if (!tryAnyway) CheckOutput(estimate, output, FreeDiskBytes(output));
        return estimate;
    }

    /// <summary>Refuses a run whose model and report (the network's weights, which a zip barely compresses, and
    /// <see cref="ReportBytes"/>) would not fit in the <paramref name="free"/> bytes of <paramref name="output"/>.</summary>
    internal static void CheckOutput(MemoryEstimate estimate, string output, long free)
    {
        long needed = estimate.WeightBytes + ReportBytes;
        if (needed > free)
            throw new CliException(ExitCodes.BadOption,
                $"the model and report need about {needed / 1e6:0} MB in {output}, more than the {free / 1e6:0} MB free there: " +
                "free space, choose another --out, or pass --no-memory-check to try anyway.");
    }

    /// <summary>Free space on the drive holding <paramref name="folder"/> (or its nearest existing parent).</summary>
    public static long FreeDiskBytes(string folder)
    {
        var existing = Path.GetFullPath(folder);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent) existing = parent;
        try
        {
            return new DriveInfo(existing).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return long.MaxValue; // unknown: the write itself reports a full disk
        }
    }

    /// <summary>Memory available now: /proc/meminfo's MemAvailable where there is one, within the GC's limit (a
    /// container's cgroup limit included).</summary>
    public static long AvailableBytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            if (line != null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kb))
                return Math.Min(limit, kb * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // not Linux: the GC's view
        }
        return limit;
    }
}

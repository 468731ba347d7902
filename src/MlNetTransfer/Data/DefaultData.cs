namespace MlNetTransfer.Cli.Data;

/// <summary>Where the bundled samples are: data-samples/fashion-mnist, looked up from the working directory and
/// from the tool's own folder upwards, so `dotnet run --project src/MlNetTransfer -- train` finds them.</summary>
public static class DefaultData
{
    public static string? SamplesFolder()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "data-samples", "fashion-mnist");
                if (Directory.Exists(Path.Combine(candidate, "train"))) return candidate;
            }
        }
        return null;
    }

    /// <summary>The data and test paths a command was given; without --data, the samples' train split and (without
    /// --test) their test split.</summary>
    public static (string Data, string? Test) Paths(string? data, string? test)
    {
        var chosen = data ?? Path.Combine(SamplesFolder() ?? throw new CliException(ExitCodes.DataNotFound,
            "no --data given and data-samples/fashion-mnist not found from here; pass --data <folder|csv>."), "train");
        return (chosen, test ?? (data == null ? Path.Combine(Path.GetDirectoryName(chosen)!, "test") : null));
    }
}

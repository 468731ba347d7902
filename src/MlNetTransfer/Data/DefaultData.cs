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
}

using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Folder options a command writes to (train's --out and --cache-dir, job export's and import's --out).</summary>
public static class FolderOption
{
    /// <summary>A folder option (--out, --cache-dir) must take files before any work: created if missing and written to
    /// once (then cleaned); otherwise exit 8 naming the option. Returns the full path.</summary>
    public static string Writable(string given, string option)
    {
        var folder = Path.GetFullPath(given);
        var probe = Path.Combine(folder, StaleFiles.TempSiblingName("write-check")); // named after this process: removed if it is killed here
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return folder;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.BadOption, $"{option} {given}: cannot write there ({e.Message}); expected a folder this user can write to.");
        }
    }
}

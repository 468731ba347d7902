using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Folder and file options a command writes to (train's --out and --cache-dir, job export's and import's --out;
/// predict's --csv, evaluate's --json, export's --onnx).</summary>
public static class FolderOption
{
    /// <summary>A folder option (--out, --cache-dir) must take files before any work: created if missing and written to
    /// once (then cleaned); otherwise exit 8 naming the option. Returns the full path.</summary>
    public static string Writable(string given, string option) => Writable(Path.GetFullPath(given), given, option, "a folder this user can write to");

    /// <summary>A file option (predict's --csv, evaluate's --json, export's --onnx): its folder must take files before
    /// any work, so nothing is computed for a result that cannot be written, and it must not be one of the command's
    /// <paramref name="inputs"/>; exit 8 naming the option. Returns the full path.</summary>
    public static string WritableFile(string given, string option, params (string Option, string? Path)[] inputs)
    {
        var path = Path.GetFullPath(given);
        if (Directory.Exists(path))
            throw new CliException(ExitCodes.BadOption, $"{option} {given}: is a folder; expected the name of a file to write.");
        // writing over what the command reads would lose it (export --onnx onto its own --model replaced the model)
        foreach (var (input, inputPath) in inputs)
            if (inputPath != null && string.Equals(Path.GetFullPath(inputPath), path, StringComparison.Ordinal))
                throw new CliException(ExitCodes.BadOption, $"{option} {given}: is the file {input} reads; name another file to write.");
        Writable(Path.GetDirectoryName(path)!, given, option, "a file in a folder this user can write to");
        return path;
    }

    static string Writable(string folder, string given, string option, string expected)
    {
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
            throw new CliException(ExitCodes.BadOption, $"{option} {given}: cannot write there ({e.Message}); expected {expected}.");
        }
    }
}

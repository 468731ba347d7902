using Microsoft.ML;
using Spectre.Console;

namespace MlNetTransfer.Cli;

/// <summary>
/// Where a command's temporary files go: ML.NET's (the model's unpacked ONNX network, its repository folders) and the
/// fitted network's ONNX file live in a folder named after this process under the system temp folder, removed when
/// the process ends. A process killed outright (SIGKILL, out of memory) cannot remove it: the next command removes the
/// folders and half-written files of processes that no longer run, never another running process's.
/// </summary>
public static class WorkFolder
{
    static readonly Lazy<string> Folder = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), StaleFiles.WorkFolderName());
        Directory.CreateDirectory(path);
        StaleFiles.HoldAlive(path); // a sweep in another container sharing the temp folder sees this run is alive
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Remove(path);
        return path;
    });

    /// <summary>A path in this process's folder (removed with it).</summary>
    public static string File(string name) => Path.Combine(Folder.Value, name);

    /// <summary>An MLContext whose temporary files go to this process's folder.</summary>
    public static MLContext NewContext(int seed)
    {
        var context = new MLContext(seed) { TempFilePath = Folder.Value };
        Runtime.OnnxThreads.ApplyOnePerRun(context); // the CLI scores with one engine per CPU at once (ImageFileScorer)
        return context;
    }

    /// <summary>The same, with ML.NET's device settings from a checked --device value (auto, cpu, cuda, cuda:N).</summary>
    public static MLContext NewContext(int seed, string device)
    {
        var (_, gpu) = Commands.DeviceOption.TryParse(device) ?? throw new ArgumentException($"--device must be auto, cpu, cuda or cuda:N, not '{device}'.", nameof(device));
        var context = NewContext(seed);
        (context.GpuDeviceId, context.FallbackToCpu) = (gpu, gpu == null);
        return context;
    }

    /// <summary>Removes what ended runs left in the temp folder and in <paramref name="outputs"/>, and says so.</summary>
    public static void CleanStale(IAnsiConsole console, params string[] outputs)
    {
        var removed = StaleFiles.Clean(Path.GetTempPath()).Concat(outputs.SelectMany(StaleFiles.Clean)).ToList();
        if (removed.Count > 0)
            console.MarkupLine(Markup.Escape($"removed {removed.Count} temporary file(s) left by ended runs: {string.Join(", ", removed.Take(3))}{(removed.Count > 3 ? ", ..." : "")}"));
    }

    static void Remove(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the next run removes it
        }
    }
}

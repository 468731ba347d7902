using System.Diagnostics;
using System.Text.Json;
using MlNetTransfer.Cli;
using Spectre.Console;

namespace MlNetTransfer.Accuracy;

/// <summary>`mlnet-transfer train` run in-process exactly as a user types it, timed from the outside; its
/// metrics.json read back.</summary>
public static class CliRun
{
    public sealed record Result(double MicroAccuracy, double MacroAccuracy, double LogLoss, double Seconds, string Strategy,
        int ImageSize, string Reason, int Epochs, int BestEpoch, double? HeadValidationAccuracy, bool TestTimeFlip, string CommandLine,
        double Temperature, double? LogLossUncalibrated, double? EceUncalibrated, double? Ece);

    public static Result Train(ImageSplit split, string outFolder, string extraArguments, TextWriter log)
    {
        if (Directory.Exists(outFolder)) Directory.Delete(outFolder, recursive: true);
        var args = new List<string> { "train", "--data", split.TrainFolder, "--test", split.TestFolder, "--out", outFolder };
        args.AddRange(extraArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(log), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        var clock = Stopwatch.StartNew();
        int exit = CliApp.Create(console).RunAsync(args.ToArray()).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        if (exit != 0) throw new InvalidOperationException($"train exited with {exit}: mlnet-transfer {string.Join(' ', args)}");

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outFolder, "metrics.json")));
        var test = metrics.RootElement.GetProperty("test");
        var training = metrics.RootElement.GetProperty("training");
        var head = training.GetProperty("classifier");
        var calibration = metrics.RootElement.GetProperty("calibration");
        return new Result(test.GetProperty("microAccuracy").GetDouble(), test.GetProperty("macroAccuracy").GetDouble(),
            test.GetProperty("logLoss").GetDouble(), seconds, training.GetProperty("strategy").GetString()!,
            training.GetProperty("imageSize").GetInt32(), training.GetProperty("strategyReason").GetString()!,
            training.GetProperty("history").GetArrayLength(), training.GetProperty("bestEpoch").GetInt32(),
            head.ValueKind == JsonValueKind.Null ? null : head.GetProperty("validationAccuracy").GetDouble(),
            training.TryGetProperty("testTimeFlip", out var flip) && flip.ValueKind == JsonValueKind.Object && flip.GetProperty("applied").GetBoolean(),
            "mlnet-transfer " + string.Join(' ', args.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)),
            calibration.GetProperty("temperature").GetDouble(), Number(calibration, "logLossBefore"), Number(calibration, "eceBefore"), Number(calibration, "eceAfter"));
    }

    static double? Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}

using System.Diagnostics;
using System.Text.Json;
using MlNetTransfer.Cli;
using Spectre.Console;

namespace MlNetTransfer.Accuracy;

/// <summary>`mlnet-transfer train` run in-process exactly as a user types it, timed from the outside; its
/// metrics.json read back; its model asked about foreign images by `predict --min-score` (<see cref="SureMeasure"/>).</summary>
public static class CliRun
{
    public sealed record Result(double MicroAccuracy, double MacroAccuracy, double LogLoss, double Seconds, string Strategy,
        int ImageSize, string Reason, int Epochs, int BestEpoch, double? HeadValidationAccuracy, bool TestTimeFlip, string CommandLine,
        double Temperature, double? LogLossUncalibrated, double? EceUncalibrated, double? Ece, SureMeasure Sure);

    public static Result Train(ImageSplit split, string outFolder, string extraArguments, string? foreignFolder, TextWriter log)
    {
        if (Directory.Exists(outFolder)) Directory.Delete(outFolder, recursive: true);
        var args = new List<string> { "train", "--data", split.TrainFolder, "--test", split.TestFolder, "--out", outFolder };
        args.AddRange(extraArguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var clock = Stopwatch.StartNew();
        Run(args, log);
        double seconds = clock.Elapsed.TotalSeconds;

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
            calibration.GetProperty("temperature").GetDouble(), Number(calibration, "logLossBefore"), Number(calibration, "eceBefore"), Number(calibration, "eceAfter"),
            Sure(test, outFolder, foreignFolder, log));
    }

    /// <summary>The test images' sure answers from metrics.json; the foreign images' from `predict --min-score --csv`.</summary>
    static SureMeasure Sure(JsonElement test, string outFolder, string? foreignFolder, TextWriter log)
    {
        var sureAnswers = test.GetProperty("sureAnswers");
        var atMinScore = sureAnswers.GetProperty("byMinScore").EnumerateArray().Single(r => r.GetProperty("minScore").GetDouble() == SureMeasure.MinScore);
        // written in the order of SureAnswers.Shares (a share's row may answer a few more images: ties)
        var surest = sureAnswers.GetProperty("surestShares")[Cli.Reporting.SureAnswers.Shares.ToList().IndexOf(SureMeasure.SurestShare)];
        double? foreign = null, foreignUnfamiliar = null, foreignAnsweredFamiliar = null;
        if (foreignFolder != null)
        {
            var csv = Path.Combine(outFolder, "foreign.csv");
            Run(["predict", "--model", Path.Combine(outFolder, "model.zip"), foreignFolder, "--csv", csv, "--min-score", SureMeasure.MinScore.ToString(System.Globalization.CultureInfo.InvariantCulture)], log);
            var lines = File.ReadLines(csv).ToList();
            bool flags = lines[0].Split(',')[3] == "unfamiliar"; // path, predicted, sure, [unfamiliar,] classes
            // sure: answered (score reached and not unfamiliar); the score alone from the class columns
            var rows = lines.Skip(1).Select(line => line.Split(',')).Select(f => (Answered: f[2] == "true", Unfamiliar: flags ? f[3] == "true" : (bool?)null,
                Scores: f.Skip(flags ? 4 : 3).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())).ToList();
            foreign = (double)rows.Count(r => Cli.Reporting.SureAnswers.IsSure(r.Scores, SureMeasure.MinScore)) / rows.Count;
            if (flags)
            {
                foreignUnfamiliar = (double)rows.Count(r => r.Unfamiliar == true) / rows.Count;
                foreignAnsweredFamiliar = (double)rows.Count(r => r.Answered) / rows.Count;
            }
        }
        double? testUnfamiliar = test.TryGetProperty("unfamiliar", out var u) && u.ValueKind == JsonValueKind.Object ? Number(u, "share") : null;
        return new SureMeasure(atMinScore.GetProperty("coverage").GetDouble(), Number(atMinScore, "accuracy"), Number(surest, "accuracy"), foreign)
        {
            TestUnfamiliar = testUnfamiliar, ForeignUnfamiliar = foreignUnfamiliar, ForeignAnsweredFamiliar = foreignAnsweredFamiliar,
        };
    }

    static void Run(IReadOnlyList<string> args, TextWriter log)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(log), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        int exit = CliApp.Create(console).RunAsync(args.ToArray()).GetAwaiter().GetResult();
        if (exit != 0) throw new InvalidOperationException($"{args[0]} exited with {exit}: mlnet-transfer {string.Join(' ', args)}");
    }

    static double? Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}

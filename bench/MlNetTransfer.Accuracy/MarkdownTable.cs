using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlNetTransfer.Accuracy;

/// <summary>The README's accuracy table from a results JSON this benchmark wrote (`--table-from results.json`, and
/// next to every JSON it writes, as .md).</summary>
public static class MarkdownTable
{
    public static string From(string jsonPath)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(jsonPath));
        var text = new StringBuilder();
        text.AppendLine("| data set | train images | case | test accuracy | log-loss | ECE | answered at Score ≥ 0.9, as predict answers (right) | foreign at Score ≥ 0.9 | unfamiliar: test / foreign | wall clock | trained |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var split in document.RootElement.GetProperty("Splits").EnumerateArray())
            foreach (var run in split.GetProperty("Cases").EnumerateArray())
            {
                string name = run.GetProperty("Case").GetString()!;
                string bold = name == "default" ? "**" : "";
                string label = name switch { "default" => "`train` defaults", "mlnet" => "ML.NET baseline", _ => name };
                string trained = name == "mlnet" ? "ResNet18 features at 224 px + LbfgsMaximumEntropy"
                    : $"{run.GetProperty("Strategy").GetString()} {run.GetProperty("ImageSize").GetInt32()} px" +
                      (run.GetProperty("Strategy").GetString() == "HeadOnly" ? " (solved)" : $", {run.GetProperty("Epochs").GetInt32()} epochs") +
                      (run.TryGetProperty("TestTimeFlip", out var flip) && flip.GetBoolean() ? ", test-time flip" : "");
                // the calibrated numbers, with the uncalibrated ones before the arrow where the run kept them
                string logLoss = Number(run, "LogLoss") is { } after
                    ? (Number(run, "LogLossUncalibrated") is { } before ? string.Create(CultureInfo.InvariantCulture, $"{before:0.000} → {after:0.000}") : string.Create(CultureInfo.InvariantCulture, $"{after:0.000}"))
                    : "";
                string ece = Number(run, "Ece") is { } calibrated
                    ? (Number(run, "EceUncalibrated") is { } raw ? string.Create(CultureInfo.InvariantCulture, $"{raw:0.000} → {calibrated:0.000}") : string.Create(CultureInfo.InvariantCulture, $"{calibrated:0.000}"))
                    : "";
                // the sure answers where the run measured them: the test images', and the other set's images it answered all the same
                var sure = run.TryGetProperty("Sure", out var measured) && measured.ValueKind == JsonValueKind.Object ? measured : (JsonElement?)null;
                string answered = sure is { } s && Number(s, "Answered90") is { } share
                    ? string.Create(CultureInfo.InvariantCulture, $"{share * 100:0} % ({(Number(s, "Accuracy90") is { } right ? $"{right * 100:0.0} %" : "–")})") : "";
                string foreign = sure is { } f && Number(f, "ForeignAnswered90") is { } wrong ? string.Create(CultureInfo.InvariantCulture, $"{wrong * 100:0.0} %") : "";
                // the images the model calls unfamiliar: of the test images (false alarms) and of the other set's (catches)
                string unfamiliar = sure is { } g && Number(g, "TestUnfamiliar") is { } alarms && Number(g, "ForeignUnfamiliar") is { } caught
                    ? string.Create(CultureInfo.InvariantCulture, $"{alarms * 100:0.0} % / {caught * 100:0.0} %") : "–";
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {split.GetProperty("DataSet").GetString()} | {split.GetProperty("TrainImages").GetInt32()} | {bold}{label}{bold} | " +
                    $"{bold}{run.GetProperty("MicroAccuracy").GetDouble() * 100:0.0} %{bold} | {logLoss} | {ece} | {answered} | {foreign} | {unfamiliar} | {run.GetProperty("WallSeconds").GetDouble():0} s | {trained} |"));
            }
        return text.ToString();
    }

    static double? Number(JsonElement run, string name) =>
        run.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}

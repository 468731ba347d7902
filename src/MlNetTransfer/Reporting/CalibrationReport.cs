using MlNetTransfer.Engine.Recipe;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>How far the test images' scores can be trusted as probabilities, before and after the model's temperature:
/// expected calibration error, log-loss, and the reliability diagram's bins (accuracy against confidence). The scores
/// before are the served ones with the calibration undone, exactly (<see cref="TemperatureScaling.Undo"/>).</summary>
public sealed record CalibrationReport(double Temperature, int Images, double EceBefore, double EceAfter, double LogLossBefore, double LogLossAfter,
    IReadOnlyList<ReliabilityBin> Before, IReadOnlyList<ReliabilityBin> After)
{
    public static CalibrationReport Of(IReadOnlyList<ScoredImage> scored, double temperature)
    {
        var after = scored.Select(s => s.Scores).ToList();
        var before = temperature == 1 ? after : after.Select(s => TemperatureScaling.Undo(s, temperature)).ToList();
        var truth = scored.Select(s => s.Truth).ToList();
        var (eceBefore, binsBefore) = Measure(before, truth);
        var (eceAfter, binsAfter) = Measure(after, truth);
        return new CalibrationReport(temperature, scored.Count, eceBefore, eceAfter, LogLoss(before, truth), LogLoss(after, truth), binsBefore, binsAfter);
    }

    static (double Ece, IReadOnlyList<ReliabilityBin> Bins) Measure(IReadOnlyList<float[]> scores, IReadOnlyList<int> truth)
    {
        var confidence = scores.Select(s => (double)s.Max()).ToList();
        var right = scores.Select((s, i) => Array.IndexOf(s, s.Max()) == truth[i]).ToList();
        var bins = TemperatureScaling.ReliabilityBins(confidence, right).Select(b => new ReliabilityBin(b.Low, b.High, b.Images, b.Accuracy, b.Confidence)).ToList();
        return (TemperatureScaling.Ece(confidence, right), bins);
    }

    static double LogLoss(IReadOnlyList<float[]> scores, IReadOnlyList<int> truth) =>
        scores.Select((s, i) => -Math.Log(Math.Max(s[truth[i]], 1e-15))).Average();
}

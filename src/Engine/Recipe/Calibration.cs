namespace MlNetTransfer.Engine.Recipe;

/// <summary>The temperature a model's scores are calibrated with, and what it did on the images it was fitted on
/// (the validation split): expected calibration error and log-loss before and after. Score = the uncalibrated
/// probabilities raised to 1/<see cref="Temperature"/>, renormalised — for a model without the test-time flip exactly
/// softmax(logits / T); with it, the same map on the averaged views. Monotone, so no prediction changes.</summary>
public sealed record Calibration(double Temperature, int Images, double EceBefore, double EceAfter, double LogLossBefore, double LogLossAfter)
{
    /// <summary>No calibration: scores as the network gives them.</summary>
    public static Calibration None { get; } = new(1, 0, double.NaN, double.NaN, double.NaN, double.NaN);

    /// <summary>Why a temperature fitted on <see cref="Images"/> validation images was not applied (too few images to
    /// pin it down, or none predicted wrong); null when it was, or when there was nothing to fit. The record then
    /// holds temperature 1 and the validation numbers of the scores as the network gives them.</summary>
    public string? Withheld { get; init; }

    /// <summary>Whether a fitted temperature is folded into the scores.</summary>
    public bool Applied => Images > 0 && Withheld == null;

    public string Describe() => Images == 0
        ? "not calibrated (no validation images to fit a temperature on)"
        : Withheld != null
            ? $"not calibrated: {Withheld}; scores kept as the network gives them (expected calibration error {EceBefore:0.0000}, log-loss {LogLossBefore:0.0000} on the validation images)"
            : $"temperature {Temperature:0.###} fitted on {Images} validation images: expected calibration error {EceBefore:0.0000} → {EceAfter:0.0000}, " +
              $"log-loss {LogLossBefore:0.0000} → {LogLossAfter:0.0000}";
}

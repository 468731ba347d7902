namespace MlNetTransfer.Engine.Recipe;

/// <summary>Whether the model's predictions average the softmax of each image and of its mirror image (test-time
/// flip), why, and the validation numbers it was decided on (null when the options named it, or when nothing could be
/// measured).</summary>
public sealed record FlipDecision(bool Applied, string Reason, FlipDecision.Measurement? Measured = null)
{
    /// <summary>Validation loss (cross-entropy, no smoothing) and accuracy of the image alone and of the
    /// average.</summary>
    public sealed record Measurement(double Loss, double Accuracy, double AveragedLoss, double AveragedAccuracy);

    /// <summary>Off, because nothing was trained to decide it on (a cancelled run, a job's imported weights).</summary>
    public static FlipDecision NotMeasured(string why) => new(false, $"off: {why}");
}

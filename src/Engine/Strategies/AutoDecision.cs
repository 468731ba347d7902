namespace MlNetTransfer.Engine.Strategies;

/// <summary>What <see cref="AutoStrategy"/> chose and the numbers behind it.</summary>
public sealed record AutoDecision(
    FineTuneStrategy Strategy,
    int ImageSize,
    double ImagesPerClass,
    double ProbeAccuracy,
    double ChanceAccuracy,
    double Similarity,
    bool OnGpu,
    int Epochs,
    double BudgetSeconds,
    double SpentSeconds,
    IReadOnlyList<AutoDecision.Timing> Timings,
    string Reason)
{
    /// <summary>A measured cost: seconds per epoch of a strategy at an image side on this device, and the seconds the
    /// run spends at that side after the epochs (<see cref="AutoStrategy.Cost"/>).</summary>
    public sealed record Timing(FineTuneStrategy Strategy, int ImageSize, double SecondsPerEpoch, double SecondsAfter);

    /// <summary>Set after training when the deeper model did worse on validation than the converged head and the
    /// head was kept instead: the two validation accuracies.</summary>
    public (double Deeper, double Head)? KeptHeadInstead { get; init; }

    /// <summary>Why the model is what it is: Auto's reason, and, where the deeper model it chose validated worse, that
    /// the classifier alone was kept (the run's record says so beside the strategy it names).</summary>
    public string Outcome => KeptHeadInstead is { } kept
        ? $"{Reason}; trained, it validated at {kept.Deeper:P1}, under the classifier alone ({kept.Head:P1}), which was kept"
        : Reason;
}

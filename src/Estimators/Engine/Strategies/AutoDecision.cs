namespace MlNetTransfer.Engine.Strategies;

/// <summary>What <see cref="AutoStrategy"/> chose and the numbers behind it.</summary>
public sealed record AutoDecision(
    FineTuneStrategy Strategy,
    double ImagesPerClass,
    double ProbeAccuracy,
    double ChanceAccuracy,
    double Similarity,
    bool OnGpu,
    string Reason);

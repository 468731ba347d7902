namespace MlNetTransfer.Engine.Recipe;

/// <summary>The classifier solved on frozen features: the L2 penalty used, how it was chosen, and how it scores.
/// <see cref="ValidationAccuracy"/> is that of the head fitted without the validation images (null: no validation).</summary>
public sealed record HeadChoice(
    double L2,
    int ImageSize,
    double TrainAccuracy,
    double? ValidationAccuracy,
    double? ValidationLoss,
    int Iterations,
    bool Converged,
    IReadOnlyList<HeadChoice.Candidate> Grid,
    double Seconds)
{
    /// <summary>One penalty tried, with its validation numbers.</summary>
    public sealed record Candidate(double L2, double Accuracy, double Loss);

    public string Describe() =>
        $"softmax head on frozen {ImageSize} px features by L-BFGS ({Iterations} iterations{(Converged ? "" : ", iteration cap")}), " +
        $"L2 {L2:g2}" + (Grid.Count > 1 ? $" chosen on validation from {Grid.Count}" : "") +
        (ValidationAccuracy is { } a ? $": validation {a:P1}" : "") + $", train {TrainAccuracy:P1}";
}

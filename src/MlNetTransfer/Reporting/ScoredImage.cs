namespace MlNetTransfer.Cli.Reporting;

/// <summary>One scored test image: its file, true class index, and class probabilities in class order.</summary>
public sealed record ScoredImage(string File, int Truth, float[] Scores)
{
    public int Predicted => Array.IndexOf(Scores, Scores.Max());
}

namespace MlNetTransfer.Cli.Reporting;

/// <summary>One scored test image: its file, true class index, and class probabilities in class order; the picture
/// kept from the decode that scored it when it ranked among the top losses (the report's gallery).</summary>
public sealed record ScoredImage(string File, int Truth, float[] Scores)
{
    public int Predicted => Array.IndexOf(Scores, Scores.Max());

    /// <summary>The image's loss: minus the log of its true class's score.</summary>
    public double Loss => -Math.Log(Math.Max(Scores[Truth], 1e-15));

    public GalleryPicture? Picture { get; init; }

    /// <summary>Whether the model calls the image unlike every image it was trained on; null when it does not say.</summary>
    public bool? Unfamiliar { get; init; }
}

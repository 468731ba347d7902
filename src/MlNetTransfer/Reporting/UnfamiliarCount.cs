namespace MlNetTransfer.Cli.Reporting;

/// <summary>How many labelled images a model calls unfamiliar (unlike every image it was trained on), and how many of
/// those it had right. On test images of the model's own classes each one is an image an app would route to a person
/// that the model may have answered: the price of catching images of classes it never saw.</summary>
public sealed record UnfamiliarCount(int Flagged, int Images, int RightAmongFlagged)
{
    public double Share => Images == 0 ? 0 : (double)Flagged / Images;

    /// <summary>The count over <paramref name="scored"/>; null when the model does not say (trained without it, or an
    /// older model).</summary>
    public static UnfamiliarCount? Of(IReadOnlyList<ScoredImage> scored) =>
        scored.Count == 0 || scored.Any(s => s.Unfamiliar is null) ? null
            : new UnfamiliarCount(scored.Count(s => s.Unfamiliar == true), scored.Count, scored.Count(s => s.Unfamiliar == true && s.Predicted == s.Truth));

    public string Describe() =>
        $"{Flagged} of {Images} images ({Share:P1}) unlike every training image" + (Flagged == 0 ? "" : $"; the model had {RightAmongFlagged} of them right");
}

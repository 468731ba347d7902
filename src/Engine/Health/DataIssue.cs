namespace MlNetTransfer.Engine.Health;

/// <summary>One flagged image: its row (in the training images, or the test images for a leak or an unfamiliar image),
/// the kind, its label, the class it more likely belongs to (label errors), the other image (duplicates: a training
/// row; leaks: the training row it copies) and a score (higher: surer).</summary>
public sealed record DataIssue(long Row, DataIssueKind Kind, int Label, int? Suggested, long? Other, double Score)
{
    /// <summary>Whether <see cref="Row"/> is a test image's (a leak, an unfamiliar image), not a training image's.</summary>
    public bool OnTestImage => OfTestImages(Kind);

    /// <summary>Whether issues of <paramref name="kind"/> are found on test images.</summary>
    public static bool OfTestImages(DataIssueKind kind) => kind is DataIssueKind.Leak or DataIssueKind.Unfamiliar;
}

namespace MlNetTransfer.Engine.Health;

/// <summary>One flagged image: its row (in the training images, or the test images for a leak), the kind, its label,
/// the class it more likely belongs to (label errors), the other image (duplicates: a training row; leaks: the training
/// row it copies) and a score (higher: surer).</summary>
public sealed record DataIssue(long Row, DataIssueKind Kind, int Label, int? Suggested, long? Other, double Score);

namespace MlNetTransfer.Engine.Health;

/// <summary>What the data checks found: every flagged image (rows are positions in the images checked; a leak's row is
/// the test image's, its <see cref="DataIssue.Other"/> the training image it copies), how many training and test
/// images were checked, how many flagged training images were left out of training (<c>ExcludeFlagged</c>), and the
/// seconds the checks took.</summary>
public sealed record DataHealth(IReadOnlyList<DataIssue> Issues, int TrainImages, int TestImages, int Excluded, double Seconds)
{
    /// <summary>A run that did not check its data.</summary>
    public static DataHealth NotChecked { get; } = new([], 0, 0, 0, 0);

    public bool Checked => TrainImages > 0;

    public int Count(DataIssueKind kind) => Issues.Count(i => i.Kind == kind);

    /// <summary>The training rows <c>ExcludeFlagged</c> leaves out: likely label errors, the later image of each
    /// duplicate pair, and the training images a test image copies (so that the test measures images the model has not
    /// seen). Outliers stay: an unusual image may be the one the model most needs.</summary>
    public IReadOnlySet<long> Excludable() =>
        Issues.Where(i => i.Kind is DataIssueKind.LabelError or DataIssueKind.Duplicate).Select(i => i.Row)
            .Concat(Issues.Where(i => i.Kind == DataIssueKind.Leak && i.Other != null).Select(i => i.Other!.Value))
            .ToHashSet();

    public string Describe() =>
        $"{Count(DataIssueKind.LabelError)} likely label error(s), {Count(DataIssueKind.Duplicate)} duplicate(s), " +
        $"{Count(DataIssueKind.Leak)} test image(s) copied in training, {Count(DataIssueKind.Outlier)} outlier(s)" +
        (Count(DataIssueKind.Unfamiliar) is > 0 and var unfamiliar ? $", {unfamiliar} test image(s) unlike the training images" : "") +
        $" among {TrainImages} training{(TestImages > 0 ? $" and {TestImages} test" : "")} images ({Seconds:0.0} s)" +
        (Excluded > 0 ? $"; {Excluded} flagged image(s) left out of training" : "");
}

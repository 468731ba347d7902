using MlNetTransfer.Engine.Health;

namespace MlNetTransfer.MlNet;

/// <summary>What <see cref="DataHealthCheck"/> found: every flagged image with its row in the data it came from (a
/// leak's row is the test image's, its <see cref="DataIssue.Other"/> the training row it copies), the class names the
/// labels index, how many images were checked, and the seconds it took.</summary>
public sealed record DataHealthReport(IReadOnlyList<DataIssue> Issues, IReadOnlyList<string> Classes, int TrainImages, int TestImages,
    double Seconds)
{
    public int Count(DataIssueKind kind) => Issues.Count(i => i.Kind == kind);

    public string Describe() =>
        $"{Count(DataIssueKind.LabelError)} likely label error(s), {Count(DataIssueKind.Duplicate)} duplicate(s), " +
        $"{Count(DataIssueKind.Leak)} test image(s) copied in training, {Count(DataIssueKind.Outlier)} outlier(s) " +
        $"among {TrainImages} training{(TestImages > 0 ? $" and {TestImages} test" : "")} images ({Seconds:0.0} s)";
}

using MlNetTransfer.Engine.Health;

namespace MlNetTransfer.MlNet;

/// <summary>What the data checks found (<see cref="DataHealthCheck"/> before training, or a training run on its own
/// features): every flagged image with its row in the data it came from (a leak's row is the test image's, its
/// <see cref="DataIssue.Other"/> the training row it copies), the class names the labels index, how many images were
/// checked, how many flagged training images the run left out, and the seconds the checks took.</summary>
public sealed record DataHealthReport(IReadOnlyList<DataIssue> Issues, IReadOnlyList<string> Classes, int TrainImages, int TestImages,
    double Seconds, int Excluded = 0)
{
    /// <summary>A run that did not check its data.</summary>
    public static DataHealthReport NotChecked { get; } = new([], [], 0, 0, 0);

    public bool Checked => TrainImages > 0;

    public int Count(DataIssueKind kind) => Issues.Count(i => i.Kind == kind);

    public string Describe() => new DataHealth(Issues, TrainImages, TestImages, Excluded, Seconds).Describe();

    /// <summary>The engine's findings (positions among the images read) with the data's rows: <paramref name="trainRows"/>
    /// and <paramref name="testRows"/> give the input row of each image read.</summary>
    internal static DataHealthReport Of(DataHealth found, IReadOnlyList<string> classes, IReadOnlyList<long> trainRows, IReadOnlyList<long>? testRows) =>
        !found.Checked ? NotChecked
        : new(found.Issues.Select(i => i with
            {
                Row = (i.OnTestImage ? testRows! : trainRows)[(int)i.Row],
                Other = i.Other is { } other ? trainRows[(int)other] : null,
            }).ToList(), classes, found.TrainImages, found.TestImages, found.Seconds, found.Excluded);
}

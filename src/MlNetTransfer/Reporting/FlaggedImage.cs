using System.Text.Json;
using MlNetTransfer.Engine.Health;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>A flagged image as scripts read it (`check --json`, metrics.json's <c>dataIssues</c>): its path as the
/// folder or CSV gives it, the kind (<c>labelError</c>, <c>duplicate</c>, <c>leak</c>, <c>outlier</c>, <c>unfamiliar</c>: a
/// test image unlike the training images), its label (null for a test image without a class), the
/// class it more likely belongs to (label errors), the other image (duplicates: the training image it copies; leaks:
/// the training image the test image is a copy of) and the score (higher: surer).</summary>
public sealed record FlaggedImage(string Path, string Kind, string? Label, string? Suggested, string? Other, double Score)
{
    public static string Name(DataIssueKind kind) => JsonNamingPolicy.CamelCase.ConvertName(kind.ToString());

    /// <summary><paramref name="trainPaths"/> and <paramref name="testPaths"/>: the path of each row of the data checked;
    /// <paramref name="testClasses"/> false: the test images have no class (their label is a stand-in), and say none.</summary>
    public static FlaggedImage Of(DataIssue issue, IReadOnlyList<string> classes, IReadOnlyList<string> trainPaths, IReadOnlyList<string>? testPaths,
        bool testClasses = true)
    {
        var own = issue.OnTestImage ? testPaths! : trainPaths;
        return new FlaggedImage(own[(int)issue.Row], Name(issue.Kind), issue.OnTestImage && !testClasses ? null : classes[issue.Label],
            issue.Suggested is { } s ? classes[s] : null, issue.Other is { } o ? trainPaths[(int)o] : null, issue.Score);
    }
}

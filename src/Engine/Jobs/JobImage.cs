namespace MlNetTransfer.Engine.Jobs;

/// <summary>One row of a job's <c>images.csv</c>: a path relative to the image root, its class name, and whether it
/// trains, validates (chooses the best epoch) or is held out for the test report after import.</summary>
public sealed record JobImage(string Path, string Label, string Split)
{
    public const string Train = "train", Validation = "validation", Test = "test";
}

namespace MlNetTransfer.Tests;

/// <summary>Tests that seed torch's process-wide random generator and expect to be the only ones drawing from it
/// run alone: xunit otherwise runs test classes in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "torch global random generator";
}

namespace MlNetTransfer.Tests;

/// <summary>Tests that seed torch's process-wide random generator and expect to be the only ones drawing from it
/// run alone: xunit otherwise runs test classes in parallel. The collection trains the README's pipeline once
/// (<see cref="TrainedPipeline"/>) for the tests that check the fitted model.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection : ICollectionFixture<TrainedPipeline>
{
    public const string Name = "torch global random generator";
}

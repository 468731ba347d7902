namespace MlNetTransfer.Tests;

/// <summary>Tests that make the garbage collector run without pause (<see cref="CollectorPressure"/>) run alone: beside
/// them, a test of another class that calls TorchSharp outside a hold (engine tests call it directly, not through the
/// adapter's doors) can have a temporary finalized under a running native call, which ends the test process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CollectorPressureCollection
{
    public const string Name = "collector pressure";
}

namespace MlNetTransfer.Tests;

/// <summary>The suite's traits. <see cref="Slow"/> sets apart the end-to-end tests that train real networks, run
/// PyTorch or other processes (about 10 of the suite's 12 minutes on 2 cores): <c>dotnet test --filter Category!=Slow</c>
/// runs the fast ones alone; the README's test command still runs everything. <see cref="Gpu"/> marks the in-process
/// tests that train, resume, export and load through the device a user's run would take (<see cref="TestDevice"/>):
/// <c>bench/gpu-check.sh tests</c> runs them on a CUDA machine from a self-contained build of this project.</summary>
public static class TestCategory
{
    public const string Trait = "Category";
    public const string Slow = "Slow";
    public const string Gpu = "Gpu";
}

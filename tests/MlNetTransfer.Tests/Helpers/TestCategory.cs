namespace MlNetTransfer.Tests;

/// <summary>The trait that sets the slow end-to-end tests apart — those that train real networks, run PyTorch or
/// other processes (about 10 of the suite's 12 minutes on 2 cores): <c>dotnet test --filter Category!=Slow</c> runs
/// the fast ones alone; the README's test command still runs everything.</summary>
public static class TestCategory
{
    public const string Trait = "Category";
    public const string Slow = "Slow";
}

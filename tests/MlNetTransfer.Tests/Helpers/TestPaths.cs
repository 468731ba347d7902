using System.Reflection;

namespace MlNetTransfer.Tests;

/// <summary>Paths the build bakes into the test assembly.</summary>
internal static class TestPaths
{
    static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"assembly metadata {key} is empty");

    /// <summary>The repository the tests read data-samples/ and fixtures from: where this build was made, or
    /// <see cref="RepositoryVariable"/> where a published copy of the suite runs on another machine (the GPU check).</summary>
    public static string RepositoryRoot => Environment.GetEnvironmentVariable(RepositoryVariable) is { Length: > 0 } moved ? moved : Metadata("RepositoryRoot");

    public const string RepositoryVariable = "MLNETTRANSFER_TEST_REPOSITORY";

    /// <summary>The separate consumer program (ML.NET packages only).</summary>
    public static string ConsumerProbe => Metadata("ConsumerProbe");

    /// <summary>The built CLI (mlnet-transfer.dll), for tests that need it as its own process.</summary>
    public static string Cli => Metadata("Cli");

    /// <summary>NuGet's global packages folder on this machine.</summary>
    public static string NuGetPackageRoot => Metadata("NuGetPackageRoot");

    public static string DataSamples => Path.Combine(RepositoryRoot, "data-samples");

    /// <summary>Files written by real PyTorch (tests/fixtures/make_tiny_fixture.py).</summary>
    public static string Fixture(string name) => Path.Combine(RepositoryRoot, "tests", "fixtures", name);

    /// <summary>The library exactly as NuGet delivered it; tests copy it and never write to it.</summary>
    public static string StockLibTorchSharp =>
        Path.Combine(Metadata("NuGetPackageRoot"), "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The copy in this test run's output folder, as the build left it.</summary>
    public static string OutputLibTorchSharp =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    public static string NuGetLibrary(string package, string version, string file) =>
        Path.Combine(Metadata("NuGetPackageRoot"), package, version, "runtimes", "linux-x64", "native", file);
}

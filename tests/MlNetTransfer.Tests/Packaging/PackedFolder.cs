namespace MlNetTransfer.Tests;

/// <summary>The folder <c>dotnet pack MlNetTransfer.sln -c Release -o &lt;folder&gt;</c> wrote: the one CI packed
/// before the tests (<c>MLNETTRANSFER_PACKAGES</c>, set by .ci/run), else packed here once for the test class.</summary>
public sealed class PackedFolder : IDisposable
{
    public const string Variable = "MLNETTRANSFER_PACKAGES";
    readonly TempDirectory? _own;

    public PackedFolder()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            Path = System.IO.Path.GetFullPath(given);
            return;
        }
        _own = new TempDirectory();
        Path = _own.File("packages");
        ChildProcess.Run("dotnet", ["pack", System.IO.Path.Combine(TestPaths.RepositoryRoot, "MlNetTransfer.sln"), "-c", "Release", "-o", Path],
            TestPaths.RepositoryRoot, minutes: 20);
    }

    public string Path { get; }

    /// <summary>The version every package here carries (Directory.Build.props).</summary>
    public static string Version => typeof(MlNetTransfer.MlNet.TransferTrainOptions).Assembly.GetName().Version is { } v
        ? $"{v.Major}.{v.Minor}.{v.Build}" : throw new InvalidOperationException("the library has no version");

    public void Dispose() => _own?.Dispose();
}

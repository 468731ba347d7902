using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MlNetTransfer.Runtime;

/// <summary>
/// Running on the libtorch of a PyTorch install instead of a NuGet libtorch package: build with
/// <c>-p:MlNetTransferTorchFlavour=external</c> (TorchSharp without libtorch) and point
/// <see cref="EnvironmentVariable"/> at the install's <c>torch/lib</c> folder. Its version must be the one
/// TorchSharp 0.107 was built against (2.10.x); the libraries are loaded before TorchSharp's own, so TorchSharp's
/// native bridge binds to them.
/// </summary>
public static partial class ExternalLibTorch
{
    public const string EnvironmentVariable = "MLNETTRANSFER_LIBTORCH";

    /// <summary>Set to 1 to run on another libtorch version than <see cref="RequiredVersion"/>. TorchSharp's native
    /// bridge then binds to a library it was not built against: PyTorch 2.11.0+cu130 worked (CLI training and the
    /// benchmark on an H100, README GPU); other versions are untried.</summary>
    public const string AnyVersionVariable = "MLNETTRANSFER_LIBTORCH_ANY_VERSION";

    /// <summary>Whether <see cref="AnyVersionVariable"/> is set to 1.</summary>
    public static bool AnyVersionAllowed => Environment.GetEnvironmentVariable(AnyVersionVariable) == "1";

    /// <summary>The libtorch version TorchSharp 0.107 was built against (torch.__version__, normalised). A constant,
    /// because reading torch.__version__ starts TorchSharp's own native loader; a test keeps the two equal.</summary>
    public const string RequiredVersion = "2.10.0";

    // Load order matters: each library's dependencies first, so the loader finds them by soname.
    static readonly string[] LoadOrder =
        ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"];

    /// <summary>The folder named by <see cref="EnvironmentVariable"/>, or null when it is not set.</summary>
    public static string? ConfiguredDirectory =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } directory ? directory : null;

    /// <summary>The PyTorch version of the install that holds <paramref name="libDirectory"/> (from
    /// <c>torch/version.py</c>), or null when there is none.</summary>
    public static string? ReadVersion(string libDirectory)
    {
        var versionFile = Path.Combine(libDirectory, "..", "version.py");
        if (!File.Exists(versionFile)) return null;
        var match = File.ReadLines(versionFile).Select(l => VersionLine().Match(l)).FirstOrDefault(m => m.Success);
        return match?.Groups[1].Value;
    }

    /// <summary>Throws <see cref="TorchLoadException"/> unless <paramref name="libDirectory"/> holds libtorch of the
    /// version TorchSharp needs (any version with <paramref name="anyVersion"/>) and the app carries no libtorch of
    /// its own.</summary>
    public static void Validate(string libDirectory, string appDirectory, bool anyVersion = false)
    {
        if (!File.Exists(Path.Combine(libDirectory, "libtorch_cpu.so")))
            throw new TorchLoadException($"{EnvironmentVariable}={libDirectory}: no libtorch_cpu.so there; point it at a PyTorch install's torch/lib folder.");
        var version = ReadVersion(libDirectory)
            ?? throw new TorchLoadException($"{EnvironmentVariable}={libDirectory}: cannot tell its PyTorch version (no ../version.py).");
        var release = version.Split('+', 'a', 'b', 'r')[0];
        if (release != RequiredVersion && !anyVersion)
            throw new TorchLoadException(
                $"{EnvironmentVariable}={libDirectory} is PyTorch {version}, but TorchSharp 0.107 needs libtorch {RequiredVersion}. " +
                $"Install torch=={RequiredVersion} (CPU or CUDA build) and point {EnvironmentVariable} at its torch/lib folder, " +
                $"or set {AnyVersionVariable}=1 to try this version anyway.");
        if (BundledLibTorch(appDirectory) is { } bundled)
            throw new TorchLoadException(
                $"{EnvironmentVariable} is set, but this app carries its own libtorch ({bundled}); two libtorch copies cannot share a process. " +
                "Build with -p:MlNetTransferTorchFlavour=external, or unset the variable.");
    }

    /// <summary>Throws when the app carries no libtorch and none was configured: TorchSharp's own fallback would
    /// copy libtorch out of the NuGet cache into the app folder and fail anyway.</summary>
    public static void ThrowIfNoLibTorch(string appDirectory)
    {
        bool bundled = BundledLibTorch(appDirectory) != null;
        bool onLibraryPath = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")));
        if (!OperatingSystem.IsLinux() || bundled || onLibraryPath || ConfiguredDirectory != null) return;
        throw new TorchLoadException(
            $"This app carries no libtorch (built with MlNetTransferTorchFlavour=external?). Set {EnvironmentVariable} to the torch/lib folder " +
            $"of a PyTorch {RequiredVersion} install, or build with the default cpu flavour.");
    }

    /// <summary>The libtorch_cpu.so that a NuGet libtorch package put into the app folder, if any.</summary>
    static string? BundledLibTorch(string appDirectory) =>
        new[] { Path.Combine(appDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so"), Path.Combine(appDirectory, "libtorch_cpu.so") }
            .FirstOrDefault(File.Exists);

    /// <summary>Loads the install's libraries so TorchSharp's bridge binds to them.</summary>
    public static void Preload(string libDirectory)
    {
        foreach (var name in LoadOrder)
        {
            var path = Path.Combine(libDirectory, name);
            if (File.Exists(path)) NativeLibrary.Load(path);
        }
    }

    [GeneratedRegex(@"^__version__\s*=\s*['""]([^'""]+)['""]")]
    private static partial Regex VersionLine();
}

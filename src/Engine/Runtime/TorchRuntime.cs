using MlNetTransfer.Native;
using TorchSharp;

namespace MlNetTransfer.Runtime;

/// <summary>
/// The one door to TorchSharp's native backend. <see cref="EnsureLoaded"/> checks the GLIBCXX compatibility step
/// first — so a missing step is a clear error instead of TorchSharp copying libtorch out of the NuGet cache and
/// failing anyway — and then probes CUDA before any other torch work, as TorchSharp requires.
/// </summary>
public static class TorchRuntime
{
    const string LibraryFileName = "libLibTorchSharp.so";
    static readonly object Gate = new();
    static bool _loaded;
    static bool _cudaAvailable;

    /// <summary>Whether libtorch sees a usable CUDA device. Loads the backend on first use.</summary>
    public static bool IsCudaAvailable
    {
        get { EnsureLoaded(); return _cudaAvailable; }
    }

    /// <summary>Loads TorchSharp's native backend once per process; throws <see cref="TorchLoadException"/> with
    /// the cause and the fix when it cannot.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            ThrowIfCompatibilityStepMissing();
            ExternalLibTorch.ThrowIfNoLibTorch(AppContext.BaseDirectory);
            if (ExternalLibTorch.ConfiguredDirectory is { } external)
            {
                ExternalLibTorch.Validate(external, AppContext.BaseDirectory, ExternalLibTorch.AnyVersionAllowed);
                ExternalLibTorch.Preload(external);
            }
            try
            {
                _cudaAvailable = torch.cuda.is_available();
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException)
            {
                throw new TorchLoadException(
                    $"TorchSharp's native backend failed to load ({e.GetBaseException().Message.Split('\n')[0]}). " +
                    "Check that the app references TorchSharp-cpu 0.107.0 (or the CUDA flavour) and was built, not copied from another machine.", e);
            }
            OneDnnGuard.Apply(); // before any convolution: on some virtual CPUs oneDNN's would kill the process
            LibTorchLogLevel.Apply(); // before any convolution too: libtorch's developer warnings stay off the console
            CpuQuotaThreads.Apply(); // before any parallel work: a container's CPU quota, not the node's cores
            _loaded = true;
        }
    }

    /// <summary>The libLibTorchSharp.so that TorchSharp will load from this app's folder, if any.</summary>
    public static string? FindAppLibrary()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var baseDir = AppContext.BaseDirectory;
        return new[]
            {
                Path.Combine(baseDir, "runtimes", "linux-x64", "native", LibraryFileName),
                Path.Combine(baseDir, LibraryFileName),
            }
            .FirstOrDefault(File.Exists);
    }

    /// <summary>The libLibTorchSharp.so mapped into this process, once the backend is loaded.</summary>
    public static string? FindLoadedLibrary()
    {
        if (!File.Exists("/proc/self/maps")) return null;
        return File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/') is var i and >= 0 ? line[i..].Trim() : null)
            .FirstOrDefault(path => path != null && Path.GetFileName(path) == LibraryFileName);
    }

    static void ThrowIfCompatibilityStepMissing()
    {
        var library = FindAppLibrary();
        if (library == null) return;
        LibTorchSharpCompatState state;
        try
        {
            state = LibTorchSharpCompat.Inspect(library);
        }
        catch (InvalidDataException e)
        {
            throw new TorchLoadException($"{library} is not a readable TorchSharp native library: {e.Message}", e);
        }
        if (state != LibTorchSharpCompatState.Stock || SystemLibStdCpp.HasRequiredVersion(out var libstdcpp)) return;
        throw new TorchLoadException(
            $"{library} needs {LibTorchSharpCompat.RequiredVersion}, which {libstdcpp ?? "this system's libstdc++"} lacks, " +
            "and the build did not apply MlNetTransfer's compatibility step to it (or ran with MlNetTransferPatchLibTorchSharp=false). Projects in the MlNetTransfer repository get " +
            "the step from Directory.Build.targets; a project elsewhere adds " +
            "<Import Project=\"<path to>/src/Estimators/build/MlNetTransfer.Estimators.targets\" /> and builds again.");
    }
}

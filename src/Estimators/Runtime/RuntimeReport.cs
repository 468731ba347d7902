using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.Native;
using TorchSharp;

namespace MlNetTransfer.Runtime;

/// <summary>What this process runs on: library versions, the GLIBCXX compatibility step, threads and CUDA.</summary>
public sealed record RuntimeReport(
    string TorchSharpVersion,
    string LibTorchVersion,
    string MlNetVersion,
    string OnnxRuntimeVersion,
    string? LibTorchSharpPath,
    LibTorchSharpCompatState? CompatibilityState,
    string? SystemLibStdCppPath,
    bool SystemHasRequiredGlibcxx,
    int ProcessorCount,
    int TorchThreads,
    bool CudaAvailable,
    int CudaDeviceCount,
    string? ExternalLibTorchPath = null)
{
    /// <summary>This project's version (the assemblies' informational version, without a source revision).</summary>
    public static string ProductVersion => ProductInfo.Version;

    /// <summary>The version of MlNetTransfer itself, first in the report.</summary>
    public string MlNetTransferVersion { get; } = ProductVersion;

    /// <summary>Whether this process runs a libLibTorchSharp.so that the compatibility step edited.</summary>
    public bool CompatibilityStepApplied => CompatibilityState == LibTorchSharpCompatState.Applied;

    /// <summary>Loads the torch backend (see <see cref="TorchRuntime.EnsureLoaded"/>) and reads the report.</summary>
    public static RuntimeReport Collect()
    {
        TorchRuntime.EnsureLoaded();
        var library = TorchRuntime.FindLoadedLibrary() ?? TorchRuntime.FindAppLibrary();
        var hasVersion = SystemLibStdCpp.HasRequiredVersion(out var libstdcpp);
        var cuda = TorchRuntime.IsCudaAvailable;
        return new RuntimeReport(
            TorchSharpVersion: ProductInfo.InformationalVersion(typeof(torch).Assembly),
            // torch.__version__ is TorchSharp's build constant; a PyTorch install's libtorch says its own
            LibTorchVersion: ExternalLibTorch.ConfiguredDirectory is { } external
                ? ExternalLibTorch.ReadVersion(external) ?? "unknown" : torch.NormalizeNuGetVersion(torch.__version__),
            MlNetVersion: ProductInfo.InformationalVersion(typeof(MLContext).Assembly),
            OnnxRuntimeVersion: OrtEnv.Instance().GetVersionString(),
            LibTorchSharpPath: library,
            CompatibilityState: library == null ? null : LibTorchSharpCompat.Inspect(library),
            SystemLibStdCppPath: libstdcpp,
            SystemHasRequiredGlibcxx: hasVersion,
            ProcessorCount: Environment.ProcessorCount,
            TorchThreads: torch.get_num_threads(),
            CudaAvailable: cuda,
            CudaDeviceCount: cuda ? torch.cuda.device_count() : 0,
            ExternalLibTorchPath: ExternalLibTorch.ConfiguredDirectory);
    }
}

using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Where a saved model scores: ONNX Runtime on the CPU, or on CUDA device N through ONNX Runtime's CUDA execution
/// provider, which only its GPU package carries (Microsoft.ML.OnnxRuntime.Gpu.Linux: a build with
/// <c>-p:MlNetTransferOnnxRuntime=gpu</c>, docs/gpu-and-libtorch.md). ML.NET reads the choice from
/// <see cref="MLContext.GpuDeviceId"/> and <see cref="MLContext.FallbackToCpu"/> when it loads a zip;
/// <see cref="Load"/> sets them, loads, and says where the model landed — CUDA when it was asked for, or an error
/// that says why not, never a quiet CPU run; Auto takes CUDA where it works and the CPU elsewhere.
/// </summary>
public static class ScoringDevice
{
    public const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>The execution providers this process's ONNX Runtime was built with.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>Where to try first, from the request and the providers this process's ONNX Runtime has. Throws
    /// <see cref="DeviceUnavailableException"/> when CUDA is asked for (<see cref="DeviceKind.Cuda"/> or a device
    /// number) and this ONNX Runtime has no CUDA provider.</summary>
    public static DeviceChoice Decide(DeviceKind kind, int? gpuDeviceId) => Decide(kind, gpuDeviceId, AvailableProviders().ToHashSet());

    /// <summary>The same decision from the providers given: a pure function, so every branch is tested on machines
    /// without a GPU.</summary>
    public static DeviceChoice Decide(DeviceKind kind, int? gpuDeviceId, IReadOnlyCollection<string> providers)
    {
        if (gpuDeviceId is < 0) throw new ArgumentOutOfRangeException(nameof(gpuDeviceId), gpuDeviceId, "a CUDA device number is 0 or more");
        if (kind == DeviceKind.Cpu) return new DeviceChoice("cpu", "CPU requested");
        bool wantsCuda = new DeviceRequest(kind, gpuDeviceId).AsksForCuda;
        int id = gpuDeviceId ?? 0;
        if (providers.Contains(CudaProvider))
            return new DeviceChoice($"cuda:{id}", wantsCuda ? $"CUDA device {id} requested" : $"ONNX Runtime has its CUDA provider; trying device {id}");
        const string problem = "this build's ONNX Runtime is its CPU package, which has no CUDA provider " +
                               "(a build with -p:MlNetTransferOnnxRuntime=gpu carries Microsoft.ML.OnnxRuntime.Gpu.Linux: docs/gpu-and-libtorch.md)";
        if (!wantsCuda) return new DeviceChoice("cpu", "ONNX Runtime's CPU package; CPU");
        throw new DeviceUnavailableException($"CUDA was requested for scoring, but {problem}.");
    }

    /// <summary>Loads a saved model where <paramref name="kind"/> asks (<see cref="Decide(DeviceKind, int?)"/>). When
    /// CUDA was chosen and ONNX Runtime cannot start on it (the CUDA or cuDNN libraries missing, no such device, no
    /// driver), an explicit request throws <see cref="DeviceUnavailableException"/> with ONNX Runtime's reason, and
    /// Auto loads on the CPU and says why. <paramref name="mlContext"/> keeps the device the model landed on, and the
    /// thread count a CPU quota asks for (<see cref="OnnxThreads"/>).</summary>
    public static (ITransformer Model, DeviceChoice Device) Load(MLContext mlContext, string path, DeviceKind kind, int? gpuDeviceId)
    {
        var choice = Decide(kind, gpuDeviceId);
        OnnxThreads.Apply(mlContext); // a container's CPU quota, not the node's cores
        if (!choice.IsCuda)
        {
            mlContext.GpuDeviceId = null;
            return (mlContext.Model.Load(path, out _), choice);
        }
        int id = gpuDeviceId ?? 0; // the device Decide chose
        bool wantsCuda = new DeviceRequest(kind, gpuDeviceId).AsksForCuda;
        DeviceChoice OnCpu(string why)
        {
            if (wantsCuda) throw new DeviceUnavailableException($"CUDA device {id} was requested for scoring, but {why}");
            mlContext.GpuDeviceId = null;
            return new DeviceChoice("cpu", $"{why}; CPU");
        }
        // the usual failure, found without a failed session (which leaves ML.NET's copy of the network behind)
        if (ProviderLibraryProblem() is { } missing)
        {
            var cpu = OnCpu($"ONNX Runtime's CUDA provider cannot load: {missing}");
            return (mlContext.Model.Load(path, out _), cpu);
        }
        mlContext.GpuDeviceId = id;
        mlContext.FallbackToCpu = false; // a failure to start on CUDA surfaces here instead of scoring on the CPU unseen
        var environment = OrtEnv.Instance();
        var logLevel = environment.EnvLogLevel;
        // ONNX Runtime logs a provider it cannot start to standard error itself; the reason goes into the message below
        environment.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        var attempt = DateTime.UtcNow.AddSeconds(-2);
        try
        {
            return (mlContext.Model.Load(path, out _), choice);
        }
        catch (Exception e) when (OnnxRuntimeReason(e) is { } thrown)
        {
            RemoveOrphanedCopies(mlContext.TempFilePath ?? Path.GetTempPath(), attempt, TransferModelFile.ReadOnnx(path));
            var cpu = OnCpu($"ONNX Runtime could not start on it: {thrown}");
            return (mlContext.Model.Load(path, out _), cpu);
        }
        finally
        {
            environment.EnvLogLevel = logLevel;
        }
    }

    /// <summary>ML.NET writes a zip's network to a randomly named file in the context's temporary folder before it
    /// opens a session, and leaves it there when the session cannot start (its constructor throws before anything owns
    /// the file): a model-sized file in /tmp per failed attempt. Removes the files in <paramref name="folder"/> written
    /// since <paramref name="sinceUtc"/> whose bytes are <paramref name="network"/>'s — no one else's file is that.</summary>
    internal static int RemoveOrphanedCopies(string folder, DateTime sinceUtc, byte[] network)
    {
        int removed = 0;
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc < sinceUtc || file.Length != network.Length) continue;
            try
            {
                if (!File.ReadAllBytes(file.FullName).AsSpan().SequenceEqual(network)) continue;
                file.Delete();
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // another's file, or gone already
        }
        return removed;
    }

    /// <summary>Why the dynamic loader refuses ONNX Runtime's CUDA provider library here — which CUDA or cuDNN library
    /// is missing — or null when it loads. ONNX Runtime's exception says only "Failed to load shared library".</summary>
    static string? ProviderLibraryProblem()
    {
        const string provider = "libonnxruntime_providers_cuda.so";
        var path = new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", provider), Path.Combine(AppContext.BaseDirectory, provider) }
            .FirstOrDefault(File.Exists);
        if (path == null) return $"{provider} is not beside this app";
        try
        {
            System.Runtime.InteropServices.NativeLibrary.Free(System.Runtime.InteropServices.NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e)
        {
            // "Unable to load shared library '…' or one of its dependencies. …\nlibcublasLt.so.13: cannot open shared object file: …"
            var missing = System.Text.RegularExpressions.Regex.Match(e.Message, @"(\S+\.so[.\d]*): cannot open shared object file");
            return (missing.Success ? $"{missing.Groups[1].Value} not found" : e.Message.ReplaceLineEndings(" ").Trim()) +
                   "; ONNX Runtime's GPU package needs CUDA 13 and cuDNN 9 on the library path (LD_LIBRARY_PATH; docs/gpu-and-libtorch.md)";
        }
    }

    /// <summary>The context a fit builds its scoring chain with. The user's GpuDeviceId asks for training on that GPU;
    /// ONNX Runtime scores there too only where it has its CUDA provider. With its CPU package ML.NET cannot create a
    /// session for a context that names a GPU at all — fallback or not, the CPU library lacks the CUDA entry point and
    /// ML.NET falls back only on ONNX Runtime's own errors — and ApplyOnnxModel takes the context's GpuDeviceId
    /// whenever it is given none: there the chain is built with a context that names no GPU. A saved zip carries no
    /// device either way.</summary>
    internal static MLContext ChainContext(MLContext mlContext)
    {
        if (mlContext.GpuDeviceId is null || AvailableProviders().Contains(CudaProvider)) return mlContext;
        var cpu = new MLContext(seed: 0) { TempFilePath = mlContext.TempFilePath, FallbackToCpu = mlContext.FallbackToCpu };
        if (mlContext.GetOnnxSessionOption() is { } sessions) cpu.SetOnnxSessionOption(sessions); // the threads the user (or the CLI) chose
        return cpu;
    }

    /// <summary>ONNX Runtime's own message inside what ML.NET threw, or null when ONNX Runtime did not fail.</summary>
    static string? OnnxRuntimeReason(Exception e)
    {
        for (var inner = e; inner != null; inner = inner.InnerException)
            if (inner is OnnxRuntimeException ort) return ort.Message.Trim();
        return null;
    }
}

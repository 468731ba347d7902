using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Where a saved model scores (ONNX Runtime on the CPU, or its CUDA provider): every branch of the choice,
/// and on this build — ONNX Runtime's CPU package — that CUDA is refused with the reason, never used quietly.</summary>
[Collection(TorchRandomCollection.Name)]
public class ScoringDeviceTests
{
    static readonly string[] CpuOnly = ["CPUExecutionProvider"];
    static readonly string[] WithCuda = ["CUDAExecutionProvider", "CPUExecutionProvider"];

    [Theory]
    [InlineData(DeviceKind.Cpu, null, true, "cpu")]
    [InlineData(DeviceKind.Cpu, null, false, "cpu")]
    [InlineData(DeviceKind.Auto, null, false, "cpu")]     // the CPU package: Auto scores on the CPU
    [InlineData(DeviceKind.Auto, null, true, "cuda:0")]   // the GPU package: Auto tries CUDA (Load falls back if it cannot start)
    [InlineData(DeviceKind.Cuda, null, true, "cuda:0")]
    [InlineData(DeviceKind.Cuda, 2, true, "cuda:2")]
    [InlineData(DeviceKind.Auto, 1, true, "cuda:1")]      // a device number asks for CUDA, as MLContext.GpuDeviceId does
    public void The_device_follows_the_request_and_the_providers(DeviceKind kind, int? id, bool cudaProvider, string expected)
    {
        var choice = ScoringDevice.Decide(kind, id, cudaProvider ? WithCuda : CpuOnly);

        Assert.Equal(expected, choice.Device);
    }

    [Theory]
    [InlineData(DeviceKind.Cuda, null)]
    [InlineData(DeviceKind.Auto, 0)]
    public void Cuda_asked_of_the_cpu_package_is_refused_with_what_to_build_instead(DeviceKind kind, int? id)
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => ScoringDevice.Decide(kind, id, CpuOnly));

        Assert.Contains("CPU package", e.Message);
        Assert.Contains("-p:MlNetTransferOnnxRuntime=gpu", e.Message);
    }

    [Fact]
    public void A_failed_cuda_attempts_copy_of_the_network_is_removed_and_nothing_else()
    {
        // ML.NET copies the network to a random file in the temporary folder before it opens a session, and leaves it
        // there when the session cannot start
        using var temp = new TempDirectory();
        var network = new byte[4096];
        new Random(1).NextBytes(network);
        var since = DateTime.UtcNow.AddSeconds(-2);
        var orphan = temp.File("k3j2h1.tmp");
        File.WriteAllBytes(orphan, network);
        var sameSize = temp.File("other.bin");
        File.WriteAllBytes(sameSize, network.Select(b => (byte)~b).ToArray());
        var older = temp.File("older.onnx");
        File.WriteAllBytes(older, network);
        File.SetLastWriteTimeUtc(older, since.AddMinutes(-5)); // there before the attempt: the user's own

        int removed = ScoringDevice.RemoveOrphanedCopies(temp.Path, since, network);

        Assert.Equal(1, removed);
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(sameSize) && File.Exists(older));
    }

    [Fact]
    public void A_negative_device_number_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ScoringDevice.Decide(DeviceKind.Cuda, -1, WithCuda));

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void On_the_cpu_package_a_saved_model_loads_on_the_cpu_and_a_fit_on_a_gpu_context_leaves_onnx_runtime_on_the_cpu()
    {
        Assert.DoesNotContain(ScoringDevice.CudaProvider, ScoringDevice.AvailableProviders()); // the build these tests run
        Assert.Contains("CPUExecutionProvider", ScoringDevice.AvailableProviders());
        TorchRuntime.EnsureLoaded();
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 4));
        EstimatorChain<TransferTrainTransformer> Pipeline(MLContext context, DeviceKind device) => context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath"))
            .Append(context.TransferTrain(new TransferTrainOptions
            {
                Architecture = "tiny", Weights = PretrainedCatalog.Scratch, ImageSize = 16, Strategy = FineTuneStrategy.RetrainAll,
                Epochs = 1, ValidationFraction = 0, Device = device,
            }));
        var zip = temp.File("model.zip");
        using (var fitted = Pipeline(ml, DeviceKind.Cpu).Fit(data))
            ml.Model.Save(fitted, data.Schema, zip);
        float[][] Scores(ITransformer model) => model.Transform(data).GetColumn<float[]>("Score").ToArray();

        // what ML.NET does with a GpuDeviceId on ONNX Runtime's CPU package: it cannot load at all, fallback or not (the
        // CPU library lacks the CUDA entry point, and ML.NET falls back only on ONNX Runtime's own errors) — so a fit
        // whose context names a GPU, to train there, must not hand that GPU to the CPU package's ONNX Runtime
        foreach (bool fallback in new[] { false, true })
        {
            var gpuContext = new MLContext(seed: 1) { TempFilePath = temp.Path, GpuDeviceId = 0, FallbackToCpu = fallback };
            var refused = Assert.ThrowsAny<Exception>(() => gpuContext.Model.Load(zip, out _));
            Assert.Contains(Chain(refused), e => e is EntryPointNotFoundException && e.Message.Contains("AppendExecutionProvider_CUDA"));
            Assert.Null(ScoringDevice.ChainContext(gpuContext).GpuDeviceId);
            gpuContext.SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1 });
            Assert.Equal(1, ScoringDevice.ChainContext(gpuContext).GetOnnxSessionOption().IntraOpNumThreads); // the threads chosen travel
        }

        // ML.NET's "the GPU where there is one": a fit on this machine trains on the CPU and its chain scores there
        var wherePossible = new MLContext(seed: 1) { TempFilePath = temp.Path, GpuDeviceId = 0, FallbackToCpu = true };
        using (var fitted = Pipeline(wherePossible, DeviceKind.Auto).Fit(data))
            Assert.Equal("cpu", fitted.LastTransformer.Run.Device);

        var (cpu, cpuChoice) = ScoringDevice.Load(new MLContext(seed: 1) { TempFilePath = temp.Path }, zip, DeviceKind.Cpu, null);
        var (auto, autoChoice) = ScoringDevice.Load(new MLContext(seed: 1) { TempFilePath = temp.Path }, zip, DeviceKind.Auto, null);
        var plain = ml.Model.Load(zip, out _);
        Assert.Equal(("cpu", "cpu"), (cpuChoice.Device, autoChoice.Device));
        Assert.Equal(Scores(plain), Scores(cpu));
        Assert.Equal(Scores(plain), Scores(auto));
        Assert.Throws<DeviceUnavailableException>(() => ScoringDevice.Load(new MLContext(seed: 1) { TempFilePath = temp.Path }, zip, DeviceKind.Cuda, null));
        foreach (var model in new[] { cpu, auto, plain }) (model as IDisposable)?.Dispose();
    }

    static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? inner = e; inner != null; inner = inner.InnerException) yield return inner;
    }
}

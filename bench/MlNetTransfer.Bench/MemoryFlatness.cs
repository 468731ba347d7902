using System.Diagnostics;
using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.MlNet;
using TorchSharp;

namespace MlNetTransfer.Bench;

/// <summary>Whether memory stays flat over a long run (TorchSharp users report leaks): resnet18's whole network for
/// many epochs through TransferTrain, sampling at each epoch's end the tensors alive in the process, its resident memory and, on a GPU, the device memory this process holds as nvidia-smi
/// reports it (the caching allocator's reserve plus the CUDA context; TorchSharp 0.107 exposes no allocator
/// statistics). Flat: epoch 2 and the last epoch within 5 % on every measure, and no more tensors alive at the end
/// (fewer is no leak: tensors the garbage collector finalises late leave the count between epochs).</summary>
public static class MemoryFlatness
{
    public const double Tolerance = 0.05;

    public sealed record Sample(int Epoch, long LiveTensors, double ResidentMegabytes, double? DeviceMegabytes);

    public sealed record Result(int Epochs, int Images, int Resolution, int BatchSize, IReadOnlyList<Sample> Samples,
        double ResidentGrowth, double? DeviceGrowth, long LiveTensorGrowth, bool Flat);

    public static Result Run(int resolution, int batch, string imageRoot, IReadOnlyList<ImageRow> rows, int epochs, string workFolder, DeviceKind device)
    {
        if (epochs < 3) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "--memory-epochs: at least 3 (epoch 2 is the baseline)");
        var ml = new MLContext(seed: 1) { TempFilePath = workFolder, FallbackToCpu = false };
        var data = ml.Data.LoadFromEnumerable(rows);
        var samples = new List<Sample>();
        var options = new TransferTrainOptions
        {
            Architecture = "resnet18", Weights = PretrainedCatalog.Scratch, Strategy = FineTuneStrategy.RetrainAll, ImageSize = resolution,
            BatchSize = batch, Epochs = epochs, Augment = true, ValidationFraction = 0.1, EarlyStoppingPatience = 0, LearningRate = 1e-4,
            Device = device, TestTimeFlip = false, CalibrateScores = false, CheckData = false, FlagUnfamiliar = false,
            // every tensor alive in the process (the batches are made on a producer thread and freed on the training one)
            Progress = p =>
            {
                if (p.IsEpochEnd)
                    samples.Add(new Sample(p.Epoch, torch.Tensor.TotalCount, Paths.ResidentMegabytes(),
                        device == DeviceKind.Cuda ? DeviceMegabytes() : null));
            },
        };
        using (ml.Transforms.Conversion.MapValueToKey("Label")
                   .Append(ml.Transforms.LoadImages("Image", imageRoot, "ImagePath"))
                   .Append(ml.TransferTrain(options)).Fit(data)) { }

        var (second, last) = (samples.Single(s => s.Epoch == 2), samples[^1]);
        double residentGrowth = last.ResidentMegabytes / second.ResidentMegabytes - 1;
        double? deviceGrowth = second.DeviceMegabytes is > 0 && last.DeviceMegabytes is { } end ? end / second.DeviceMegabytes.Value - 1 : null;
        long liveGrowth = last.LiveTensors - second.LiveTensors;
        bool flat = Math.Abs(residentGrowth) <= Tolerance && (deviceGrowth == null || Math.Abs(deviceGrowth.Value) <= Tolerance) && liveGrowth <= 0;
        return new Result(samples.Count, rows.Count, resolution, batch, samples, residentGrowth, deviceGrowth, liveGrowth, flat);
    }

    /// <summary>The device memory this process holds, from nvidia-smi (MiB), or null where it cannot say.</summary>
    static double? DeviceMegabytes()
    {
        try
        {
            var start = new ProcessStartInfo("nvidia-smi", ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var smi = Process.Start(start)!;
            var output = smi.StandardOutput.ReadToEnd();
            smi.WaitForExit();
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(',', StringSplitOptions.TrimEntries))
                .Where(p => p.Length == 2 && p[0] == Environment.ProcessId.ToString())
                .Select(p => (double?)double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))
                .FirstOrDefault();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no nvidia-smi
        }
    }
}

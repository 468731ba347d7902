using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// The frozen network's classifier inputs computed by ONNX Runtime, on the CPU: the network is written up to its
/// classifier (<see cref="OnnxExporter.ExportFeatures"/>, the same emitter as the saved model's) and run batch by batch,
/// reading the decoded images' memory and writing the features' in place. On the project's 2-core VM, ResNet-18's
/// forward pass at 224 px runs at about 100 images a second there against about 60 in libtorch (channels-first, the
/// layout this CPU computes correctly), and the feature pass is most of a head-only run after decoding
/// (bench/results/README.md). The values are the network's to float rounding (<c>OnnxFeaturePassTests</c>). On a GPU
/// libtorch's pass stays.
/// </summary>
internal static class OnnxFeaturePass
{
    /// <summary><c>torch</c> computes the features with libtorch on the CPU too (for comparisons).</summary>
    public const string EnvironmentVariable = "MLNETTRANSFER_FEATURE_PASS";

    public static bool Applies(Device device) =>
        device.type == DeviceType.CPU && !string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "torch", StringComparison.OrdinalIgnoreCase);

    /// <summary>[N, width] float features of every image of <paramref name="data"/> — or, <paramref name="mirrored"/>,
    /// of its mirror image — in order, on the CPU. A cancellation throws <see cref="OperationCanceledException"/>
    /// between batches; <paramref name="progress"/> counts the images.</summary>
    public static unsafe Tensor Compute(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing,
        ImageTensorDataset data, int batchSize, CancellationToken cancellation = default, bool mirrored = false, PhaseProgress? progress = null)
    {
        if (progress != null) progress.Total = data.Count;
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var probe = System.Diagnostics.Stopwatch.StartNew();
        var graph = OnnxExporter.ExportFeatures(model, architecture.Name, architecture.ClassifierPrefix, preprocessing, out long width);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = get_num_threads(), // libtorch's count: the user's --threads or every core
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(graph, options);
        using var run = new RunOptions();
        var features = empty([data.Count, width], ScalarType.Float32);
        try
        {
            int side = data.Side;
            for (long start = 0; start < data.Count; start += batchSize)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                long count = Math.Min(batchSize, data.Count - start);
                var images = data.Slice(start, count);
                var pixels = (mirrored ? images.flip(3) : images).to_type(ScalarType.Float32).contiguous();
                var target = features.narrow(0, start, count);
                var input = pixels.bytes;
                var output = target.bytes;
                fixed (byte* inputData = input)
                fixed (byte* outputData = output)
                {
                    using var inputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                        [count, 3, side, side], (IntPtr)inputData, input.Length);
                    using var outputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                        [count, width], (IntPtr)outputData, output.Length);
                    session.Run(run, [OnnxExporter.FeaturesInputName], [inputValue], [OnnxExporter.FeaturesName], [outputValue]);
                }
                progress?.Advance(count);
            }
            return features;
        }
        catch
        {
            features.Dispose();
            throw;
        }
    }
}

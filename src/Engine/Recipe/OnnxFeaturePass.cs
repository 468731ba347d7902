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
    public static Tensor Compute(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing,
        ImageTensorDataset data, int batchSize, CancellationToken cancellation = default, bool mirrored = false, PhaseProgress? progress = null) =>
        Compute(model, architecture, preprocessing, data, batchSize, [architecture.ClassifierPrefix], cancellation, mirrored, progress)[0];

    /// <summary>The input of each module of <paramref name="taps"/> (a feature map averaged over the image; the
    /// classifier's prefix: its inputs) for every image, as <see cref="Compute(nn.Module{Tensor, Tensor}, Architecture, Preprocessing, ImageTensorDataset, int, CancellationToken, bool, PhaseProgress?)"/>
    /// computes the classifier's inputs, in one pass.</summary>
    public static unsafe Tensor[] Compute(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing,
        ImageTensorDataset data, int batchSize, IReadOnlyList<string> taps, CancellationToken cancellation = default, bool mirrored = false,
        PhaseProgress? progress = null)
    {
        if (progress != null) progress.Total = data.Count;
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var graph = OnnxExporter.ExportTaps(model, architecture.Name, taps, preprocessing, out long[] widths);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = get_num_threads(), // libtorch's count: the user's --threads or every core
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(graph, options);
        using var run = new RunOptions();
        var features = widths.Select(width => empty([data.Count, width], ScalarType.Float32)).ToArray();
        var names = Enumerable.Range(0, taps.Count).Select(OnnxExporter.TapName).ToArray();
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
                var input = pixels.bytes;
                var outputs = new List<OrtValue>();
                try
                {
                    fixed (byte* inputData = input)
                    {
                        using var inputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                            [count, 3, side, side], (IntPtr)inputData, input.Length);
                        for (int i = 0; i < features.Length; i++)
                        {
                            // the rows of this batch, written in place: the tensor's own memory, which libtorch
                            // holds (native, never moved by the GC), so its address stays valid outside fixed
                            var target = features[i].narrow(0, start, count).bytes;
                            IntPtr address;
                            fixed (byte* rows = target) address = (IntPtr)rows;
                            outputs.Add(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                                [count, widths[i]], address, target.Length));
                        }
                        session.Run(run, [OnnxExporter.FeaturesInputName], [inputValue], names, outputs);
                    }
                }
                finally
                {
                    foreach (var output in outputs) output.Dispose();
                }
                progress?.Advance(count);
            }
            return features;
        }
        catch
        {
            foreach (var f in features) f.Dispose();
            throw;
        }
    }
}

using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.MlNet;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Bench;

/// <summary>The same zip scored two ways on the same pixels: its ONNX network in ONNX Runtime on the CPU (what
/// PredictionEngine serves), and the network rebuilt from that ONNX model's weights in TorchSharp on a device (CUDA on a
/// GPU machine). The product's promise that a model means the same wherever it runs: the same class for every image,
/// scores within <see cref="Tolerance"/>.</summary>
public static class Agreement
{
    public const double Tolerance = 1e-3;

    public sealed record Result(string Zip, string Device, int Images, int SameClass, double MaxScoreDifference, bool Agrees);

    public static Result Measure(string zip, string imageRoot, IReadOnlyList<ImageRow> rows, Device device)
    {
        var onnx = TransferModelFile.ReadOnnx(zip);
        using var network = OnnxNetwork.Rebuild(OnnxGraph.Parse(onnx), zip);
        var (model, metadata) = (network.Model, network.Metadata);
        if (metadata.TestTimeFlip || metadata.Temperature != 1)
            throw new InvalidOperationException($"{zip}: the agreement check compares the bare network (no test-time flip, no calibration)");
        model.to(device);

        var pixels = ServingLatency.Pixels(zip, imageRoot, rows);
        int side = metadata.Preprocessing.InputSize;
        using var session = new InferenceSession(onnx);
        var input = session.InputMetadata.Keys.Single();
        var scoreOutput = session.OutputMetadata.Keys.First(k => k.Contains("Score", StringComparison.Ordinal));
        int same = 0;
        double maxDifference = 0;
        foreach (var image in pixels)
        {
            float[] served;
            using (var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(image, [1, 3, side, side]))]))
                served = results.First(r => r.Name == scoreOutput).AsEnumerable<float>().ToArray();
            float[] rebuilt;
            using (no_grad())
            using (NewDisposeScope())
            {
                var x = tensor(image).view(1, 3, side, side).to(device);
                rebuilt = nn.functional.softmax(model.call(metadata.Preprocessing.Normalize(x)), 1).cpu().data<float>().ToArray();
            }
            if (ArgMax(served) == ArgMax(rebuilt)) same++;
            maxDifference = Math.Max(maxDifference, served.Zip(rebuilt, (a, b) => (double)Math.Abs(a - b)).Max());
        }
        return new Result(Path.GetFileName(zip), device.ToString(), pixels.Count, same, maxDifference, same == pixels.Count && maxDifference <= Tolerance);
    }

    static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}

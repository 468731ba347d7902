using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Bench;

/// <summary>Per-image latency of PredictionEngine on a saved model, against a bare ONNX Runtime Run of the same
/// network on the same preprocessed input (the pixels ML.NET's ResizeImages and ExtractPixels produce).</summary>
public static class ServingLatency
{
    /// <summary>Steady percentiles, and what the first prediction costs a server: loading the zip with its ONNX
    /// Runtime session, creating the PredictionEngine, and its first call.</summary>
    public sealed record Result(double EngineP50, double EngineP95, double OnnxP50, double OnnxP95, double LoadMs = 0, double FirstPredictionMs = 0);

    sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>The pixels the zip's network reads for each image: its ImageLoader, then the scoring chain's
    /// ResizeImages and ExtractPixels (planar RGB 0..255).</summary>
    public static List<float[]> Pixels(string zip, string imageRoot, IReadOnlyList<ImageRow> rows)
    {
        var ml = new MLContext(seed: 1);
        var loaded = ml.Model.Load(zip, out _);
        try
        {
            var chain = ((IEnumerable<ITransformer>)loaded).ToList();
            var scoring = ((IEnumerable<ITransformer>)chain.OfType<TransformerChain<ITransformer>>().Single()).ToList();
            var view = ml.Data.LoadFromEnumerable(ImageRow.Under(imageRoot, rows));
            foreach (var t in chain.TakeWhile(t => t is not TransformerChain<ITransformer>)) view = t.Transform(view);
            view = scoring[1].Transform(scoring[0].Transform(view));
            var pixelColumn = view.Schema.Single(c => c.Name.EndsWith("Pixels", StringComparison.Ordinal)).Name;
            return view.GetColumn<float[]>(pixelColumn).ToList();
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    public static Result Measure(string zip, string imageRoot, IReadOnlyList<ImageRow> rows, int side)
    {
        var ml = new MLContext(seed: 1);
        var absolute = ImageRow.Under(imageRoot, rows);
        var pixels = Pixels(zip, imageRoot, rows);

        var loadClock = Stopwatch.StartNew();
        var model = ml.Model.Load(zip, out _);
        using var engine = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(model);
        double loadMs = loadClock.Elapsed.TotalMilliseconds;
        loadClock.Restart();
        engine.Predict(absolute[0]);
        double firstMs = loadClock.Elapsed.TotalMilliseconds;
        using var session = new InferenceSession(TransferModelFile.ReadOnnx(zip));
        var input = session.InputMetadata.Keys.Single();
        var engineTimes = new List<double>();
        var onnxTimes = new List<double>();
        // interleaved, image by image, after a warm-up of both: drift on a busy machine hits both alike
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < absolute.Count; i++)
            {
                var clock = Stopwatch.StartNew();
                engine.Predict(absolute[i]);
                double engineMs = clock.Elapsed.TotalMilliseconds;
                var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(pixels[i], [1, 3, side, side]);
                clock.Restart();
                using (session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)])) { }
                double onnxMs = clock.Elapsed.TotalMilliseconds;
                if (pass == 0 && i < 5) continue;
                engineTimes.Add(engineMs);
                onnxTimes.Add(onnxMs);
            }
        }
        return new Result(Percentile(engineTimes, 50), Percentile(engineTimes, 95), Percentile(onnxTimes, 50), Percentile(onnxTimes, 95), loadMs, firstMs);
    }

    internal static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

using System.Diagnostics;
using Microsoft.ML;
using WebApi;

namespace MlNetTransfer.Serving;

/// <summary>The baseline: what the web API does per request — decode the upload as training did, one
/// PredictionEngine.Predict — with no HTTP, one engine per thread.</summary>
public static class BareEngines
{
    public static Throughput Measure(string zip, int side, IReadOnlyList<byte[]> uploads, int threads, double seconds)
    {
        var mlContext = new MLContext();
        var loaded = mlContext.Model.Load(zip, out _);
        var model = ImageDecoding.AfterLoadImages(loaded);
        var decoding = new ImageDecoding(side, 178_956_970);
        var engines = Enumerable.Range(0, threads).Select(_ => mlContext.Model.CreatePredictionEngine<ImageInput, ModelOutput>(model)).ToList();
        foreach (var engine in engines) // warm, untimed
            using (var first = decoding.Load(uploads[0])) engine.Predict(new ImageInput { Image = first });
        var latencies = new List<double>[threads];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var workers = Enumerable.Range(0, threads).Select(worker => new Thread(() =>
        {
            var mine = latencies[worker] = [];
            for (int i = worker; clock.Elapsed < deadline; i += threads)
            {
                var start = Stopwatch.GetTimestamp();
                using var image = decoding.Load(uploads[i % uploads.Count]);
                engines[worker].Predict(new ImageInput { Image = image });
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        double elapsed = clock.Elapsed.TotalSeconds;
        engines.ForEach(e => e.Dispose());
        (loaded as IDisposable)?.Dispose();
        return Throughput.From(threads, latencies.SelectMany(l => l).ToList(), elapsed);
    }
}

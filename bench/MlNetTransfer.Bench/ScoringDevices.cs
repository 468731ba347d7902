using System.Diagnostics;
using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Bench;

/// <summary>What `predict` and `evaluate` do with a saved zip — <see cref="ImageFileScorer"/>: decode each file at the
/// model's side, score through ML.NET's ONNX Runtime transformer — on the CPU and, where this build has ONNX Runtime's
/// CUDA provider, on the GPU (<see cref="ScoringDevice"/>): the p50 latency of one image per call and of 64 per call,
/// images per second at 64, and whether the two devices give the same classes and scores within 1e-3.</summary>
public static class ScoringDevices
{
    public const double Tolerance = 1e-3;

    public sealed record Batch(int Size, int Calls, double P50Ms, double P95Ms, double ImagesPerSecond);

    public sealed record OnDevice(string Requested, string? Device, string? Reason, double LoadMs, Batch? One, Batch? Many, string? Unavailable);

    public sealed record Result(int Images, IReadOnlyList<OnDevice> Devices, int? SameClass, double? MaxScoreDifference)
    {
        public bool? Agrees => SameClass == null ? null : SameClass == Images && MaxScoreDifference <= Tolerance;
    }

    public static Result Measure(string zip, IReadOnlyList<string> files, int side, double seconds)
    {
        var measured = new List<OnDevice>();
        var scores = new List<float[]?[]>();
        foreach (var kind in new[] { DeviceKind.Cpu, DeviceKind.Cuda })
        {
            var ml = new MLContext(seed: 1);
            var clock = Stopwatch.StartNew();
            ITransformer model;
            DeviceChoice choice;
            try
            {
                (model, choice) = ScoringDevice.Load(ml, zip, kind, null);
            }
            catch (DeviceUnavailableException e)
            {
                measured.Add(new OnDevice(kind.ToString(), null, null, 0, null, null, e.Message));
                AnsiConsole.WriteLine($"scoring on {kind}: not measured — {e.Message}");
                continue;
            }
            double loadMs = clock.Elapsed.TotalMilliseconds;
            try
            {
                var scorer = new ImageFileScorer(ml, model, side);
                var all = scorer.Score(files); // warm: every session and engine made, every kernel chosen
                scores.Add(all.Select(r => r.Scores).ToArray());
                var one = Time(scorer, files, 1, seconds);
                var many = Time(scorer, files, 64, seconds);
                measured.Add(new OnDevice(kind.ToString(), choice.Device, choice.Reason, loadMs, one, many, null));
                AnsiConsole.WriteLine($"scoring on {choice.Device}: load {loadMs:0} ms; 1 image a call p50 {one.P50Ms:0.0} ms ({one.ImagesPerSecond:0}/s); " +
                                      $"64 a call p50 {many.P50Ms:0} ms, {many.ImagesPerSecond:0} images/s");
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }
        }
        if (scores.Count < 2) return new Result(files.Count, measured, null, null);
        int same = 0;
        double largest = 0;
        for (int i = 0; i < files.Count; i++)
        {
            var (a, b) = (scores[0][i]!, scores[1][i]!);
            if (Array.IndexOf(a, a.Max()) == Array.IndexOf(b, b.Max())) same++;
            largest = Math.Max(largest, a.Zip(b).Max(p => Math.Abs(p.First - p.Second)));
        }
        var result = new Result(files.Count, measured, same, largest);
        AnsiConsole.WriteLine($"CPU against CUDA ONNX Runtime on the same zip: {same}/{files.Count} same class, largest score difference {largest:0.0e0} — " +
                              $"{(result.Agrees == true ? "agree" : "DISAGREE")} (≤ {Tolerance:0e0})");
        return result;
    }

    /// <summary>Calls of <paramref name="size"/> images each, cycling through the files, for about
    /// <paramref name="seconds"/> (at least 5 calls).</summary>
    static Batch Time(ImageFileScorer scorer, IReadOnlyList<string> files, int size, double seconds)
    {
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        for (int call = 0; call < 5 || total.Elapsed.TotalSeconds < seconds; call++)
        {
            var batch = Enumerable.Range(call * size, size).Select(i => files[i % files.Count]).ToList();
            var clock = Stopwatch.StartNew();
            scorer.Score(batch);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return new Batch(size, times.Count, ServingLatency.Percentile(times, 50), ServingLatency.Percentile(times, 95),
            size * times.Count / (times.Sum() / 1000));
    }
}

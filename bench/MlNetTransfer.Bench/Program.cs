// Benchmarks: dotnet run -c Release --project bench/MlNetTransfer.Bench -- [--res 128] [--batch 32] [--steps 10]
//             [--epochs 3] [--out bench/results.json] [--no-peer]
// Prints a table and writes JSON: raw TorchSharp step vs TransferTrain end to end, head-only feature caching,
// PredictionEngine vs bare ONNX Runtime latency, peak RSS, and the PyTorch peer when python3-torch is installed.
using System.Text.Json;
using MlNetTransfer.Bench;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Runtime;
using Spectre.Console;

var options = Options.Parse(args);
TorchRuntime.EnsureLoaded();
TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
var root = MlNetTransfer.Bench.Paths.Samples();
var train = ImageRow.Load(root, "train");
var test = ImageRow.Load(root, "test");
var work = Directory.CreateTempSubdirectory("mlnettransfer-bench-").FullName;
var python = options.Peer ? Peer.Python() : null;
var peerScript = Path.Combine(MlNetTransfer.Bench.Paths.Repository(), "bench", "peer.py");
AnsiConsole.WriteLine($"{Environment.ProcessorCount} cores, {options.Resolution} px, batch {options.Batch}, {train.Count} training PNGs; PyTorch peer: {python ?? "not installed"}");

var cases = new List<object>();
var table = new Table().AddColumns("case", "raw step img/s", "end-to-end epoch img/s", "÷ raw", "whole fit img/s", "PyTorch end-to-end img/s", "÷ PyTorch");
string? servingZip = null;
foreach (var c in BenchCase.Standard(options.Resolution, options.Batch))
{
    var raw = RawStep.ImagesPerSecond(c, options.Steps);
    var e2e = EndToEnd.Run(c, root, train, options.Epochs, work);
    // head-only: epoch 1 builds the feature cache (the raw step's work); later epochs reuse it, so compare epoch 1.
    // Otherwise compare epochs after the first: the raw step is timed after warm-up steps too.
    double e2eRate = c.Strategy == FineTuneStrategy.HeadOnly || e2e.EpochSeconds.Length < 2
        ? train.Count / e2e.EpochSeconds[0]
        : train.Count * (e2e.EpochSeconds.Length - 1) / e2e.EpochSeconds.Skip(1).Sum();
    var peer = python == null ? null : Peer.Run(python, peerScript, c, Environment.ProcessorCount, options.Steps, options.Epochs, Path.Combine(root, "train"));
    if (c.Architecture == "resnet18") servingZip = e2e.ModelPath;
    table.AddRow(c.Name, $"{raw:0.0}", $"{e2eRate:0.0}", $"{e2eRate / raw:0.00}×", $"{e2e.FitImagesPerSecond:0.0}",
        peer == null ? "-" : $"{peer.EndToEndImagesPerSecond:0.0}", peer == null ? "-" : $"{e2e.FitImagesPerSecond / peer.EndToEndImagesPerSecond:0.00}×");
    cases.Add(new { c.Name, c.Architecture, Strategy = c.Strategy.ToString(), c.Resolution, c.BatchSize, RawImagesPerSecond = raw,
        EndToEndEpochImagesPerSecond = e2eRate, EndToEnd = e2e, Peer = peer });
}
AnsiConsole.Write(table);

var caching = EndToEnd.Run(new BenchCase("alexnet head-only caching", "alexnet", FineTuneStrategy.HeadOnly, options.Resolution, options.Batch), root, train, 5, work);
double laterMean = caching.EpochSeconds.Skip(1).Average();
AnsiConsole.WriteLine($"head-only feature caching (alexnet, 5 epochs): epoch 1 {caching.EpochSeconds[0]:0.000} s, later epochs {laterMean:0.0000} s = {laterMean / caching.EpochSeconds[0]:P2} of the first");

var serving = ServingLatency.Measure(servingZip!, root, test, options.Resolution);
AnsiConsole.WriteLine($"serving resnet18 ({test.Count} images): PredictionEngine p50 {serving.EngineP50:0.00} ms / p95 {serving.EngineP95:0.00} ms; " +
                      $"bare ONNX Runtime p50 {serving.OnnxP50:0.00} ms / p95 {serving.OnnxP95:0.00} ms; ratio p50 {serving.EngineP50 / serving.OnnxP50:0.00}×");
var peakMegabytes = MlNetTransfer.Bench.Paths.PeakResidentMegabytes();
AnsiConsole.WriteLine($"peak RSS {peakMegabytes:0} MB");

var result = new
{
    Machine = new { Environment.ProcessorCount, Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, TorchThreads = TorchSharp.torch.get_num_threads() },
    options.Resolution, options.Batch, options.Steps, options.Epochs, Cases = cases,
    Caching = new { caching.EpochSeconds, LaterOverFirst = laterMean / caching.EpochSeconds[0] },
    Serving = serving, PeakResidentMegabytes = peakMegabytes,
};
File.WriteAllText(options.Out, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
AnsiConsole.WriteLine($"wrote {Path.GetFullPath(options.Out)}");
Directory.Delete(work, recursive: true);
return 0;

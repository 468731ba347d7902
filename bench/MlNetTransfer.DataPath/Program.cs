// Data-path benchmark: dotnet run -c Release --project bench/MlNetTransfer.DataPath -- [--sizes 1000,10000,50000]
//   [--archs tiny,resnet18] [--resnet-sizes 1000,10000] [--res 224] [--batch 32] [--batches 100] [--resnet-batches 15]
//   [--out bench/results/datapath-cpu.json]
// For each architecture and number of synthetic training PNGs: TransferTrain from scratch (RetrainAll) in a fresh
// process, its decode time, the classifier's feature pass, training images/s over a run of batches of the first epoch,
// and the process's peak RSS; the raw step on a batch in memory for comparison; and for tiny, a second run with a
// cache folder (decode time of the first run vs the second). Writes JSON and a markdown table next to it.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MlNetTransfer;
using MlNetTransfer.Bench;
using MlNetTransfer.DataPath;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Runtime;

string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
int[] Sizes(string name, string fallback) => Arg(name, fallback).Split(',').Select(int.Parse).ToArray();
int side = int.Parse(Arg("--res", "224")), batch = int.Parse(Arg("--batch", "32")), batches = int.Parse(Arg("--batches", "100"));
int resnetBatches = int.Parse(Arg("--resnet-batches", "15"));

if (args.Contains("--generate")) // make the PNGs ahead (minutes for 50 000), e.g. while the machine is busy anyway
{
    Console.WriteLine(SyntheticPngs.Csv(Sizes("--sizes", "1000,10000,50000").Max(), side));
    return 0;
}

if (args.Contains("--child"))
{
    TorchRuntime.EnsureLoaded();
    var csv = SyntheticPngs.Csv(int.Parse(Arg("--images", "1000")), side);
    string arch = Arg("--arch", "tiny"), mode = Arg("--child", "train");
    object result;
    if (mode == "cache")
    {
        var cache = StaleFiles.CreateRunFolder("datapath");
        var first = DataPathRun.Fit(arch, csv, side, batch, 2, cache);
        var second = DataPathRun.Fit(arch, csv, side, batch, 2, cache);
        Directory.Delete(cache, recursive: true);
        result = new { First = first, Second = second };
    }
    else result = DataPathRun.Fit(arch, csv, side, batch, batches, null);
    Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
    return 0;
}

TorchRuntime.EnsureLoaded();
var output = Arg("--out", Path.Combine("bench", "results", "datapath-cpu.json"));
var runs = new List<DataPathRun.Result>();
var cacheRuns = new List<(DataPathRun.Result First, DataPathRun.Result Second)>();
var raw = new Dictionary<string, double>();
foreach (var arch in Arg("--archs", "tiny,resnet18").Split(','))
{
    var step = new BenchCase(arch, arch, FineTuneStrategy.RetrainAll, side, batch); // the whole network trains, as in the runs
    raw[arch] = RawStep.ImagesPerSecond(step, steps: arch == "tiny" ? 30 : 10, TorchSharp.torch.CPU);
    Console.WriteLine($"{arch}: raw step {raw[arch]:0.0} img/s");
    foreach (var n in arch == "tiny" ? Sizes("--sizes", "1000,10000,50000") : Sizes("--resnet-sizes", "1000,10000"))
    {
        var r = Child<DataPathRun.Result>("train", arch, n);
        runs.Add(r);
        Console.WriteLine($"{arch} {n}: decode {r.DecodeSeconds:0.0} s, features {r.FeatureSeconds:0.0} s, epoch {r.EpochImagesPerSecond:0.0} img/s " +
                          $"({r.EpochImagesPerSecond / raw[arch]:0.00}× raw), peak RSS {r.PeakResidentMegabytes:0} MB, store {r.StoreGigabytes:0.00} GB");
        if (arch != "tiny") continue;
        using var pair = JsonDocument.Parse(ChildJson("cache", arch, n));
        var first = pair.RootElement.GetProperty("First").Deserialize<DataPathRun.Result>()!;
        var second = pair.RootElement.GetProperty("Second").Deserialize<DataPathRun.Result>()!;
        cacheRuns.Add((first, second));
        Console.WriteLine($"{arch} {n} with a cache folder: first run decodes in {first.DecodeSeconds:0.0} s, the second in {second.DecodeSeconds:0.00} s " +
                          $"({second.DecodeSeconds / first.DecodeSeconds:P1}; reused: {second.Reused})");
    }
}

var report = new
{
    Machine = new { Environment.ProcessorCount, Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
    Side = side, BatchSize = batch, BatchesTimed = new { Tiny = batches, Others = resnetBatches }, RawStepImagesPerSecond = raw, Runs = runs,
    Cache = cacheRuns.Select(c => new { c.First.Images, FirstDecodeSeconds = c.First.DecodeSeconds, SecondDecodeSeconds = c.Second.DecodeSeconds, c.Second.Reused }),
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
File.WriteAllText(output, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
var table = new StringBuilder("| architecture | images | decoded store | decode | feature pass | epoch img/s | ÷ raw step | RSS after decoding | peak RSS | cache-dir 2nd run decode |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
foreach (var r in runs)
{
    var cached = cacheRuns.FirstOrDefault(c => c.First.Architecture == r.Architecture && c.First.Images == r.Images);
    table.Append(CultureInfo.InvariantCulture, $"| {r.Architecture} | {r.Images:N0} | {r.StoreGigabytes:0.00} GB | {r.DecodeSeconds:0.0} s | {r.FeatureSeconds:0.0} s | {r.EpochImagesPerSecond:0.0} | {r.EpochImagesPerSecond / raw[r.Architecture]:0.00}× | {r.ResidentAfterDecodeMegabytes / 1024:0.00} GB | {r.PeakResidentMegabytes / 1024:0.00} GB | ")
        .Append(cached.First == null ? "–" : $"{cached.Second.DecodeSeconds:0.00} s of {cached.First.DecodeSeconds:0.0} s ({cached.Second.DecodeSeconds / cached.First.DecodeSeconds:P1})").Append(" |\n");
}
File.WriteAllText(Path.ChangeExtension(output, ".md"), table.ToString());
Console.WriteLine(table);
return 0;

T Child<T>(string mode, string arch, int n) => JsonSerializer.Deserialize<T>(ChildJson(mode, arch, n))!;

string ChildJson(string mode, string arch, int n)
{
    var self = Environment.ProcessPath!;
    var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
    if (self.EndsWith("dotnet")) start.ArgumentList.Add(typeof(DataPathRun).Assembly.Location);
    int timed = arch == "tiny" ? batches : resnetBatches;
    foreach (var a in new[] { "--child", mode, "--arch", arch, "--images", n.ToString(CultureInfo.InvariantCulture), "--res", side.ToString(CultureInfo.InvariantCulture),
                 "--batch", batch.ToString(CultureInfo.InvariantCulture), "--batches", timed.ToString(CultureInfo.InvariantCulture) })
        start.ArgumentList.Add(a);
    using var process = Process.Start(start)!;
    string? line, result = null;
    while ((line = process.StandardOutput.ReadLine()) != null)
        if (line.StartsWith("RESULT ", StringComparison.Ordinal)) result = line["RESULT ".Length..];
    process.WaitForExit();
    return result ?? throw new InvalidOperationException($"{mode} {arch} {n}: the child process exited {process.ExitCode} without a result");
}

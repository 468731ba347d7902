// Accuracy benchmark: dotnet run -c Release --project bench/MlNetTransfer.Accuracy -- [--sets fashion-mnist,icons[,photos]]
//     [--fashion-sizes 400,2000,10000] [--icon-sizes 400,2000] [--photo-sizes 400 (200 test photos)] [--cases default,mlnet,HeadOnly,...]
//     [--deep-strategies-up-to 2000] [--device auto|cpu|cuda] [--seed 1] [--data-dir ~/.cache/mlnettransfer-accuracy]
//     [--out bench/accuracy.json] [--prepare-only]
//   or: -- --table-from bench/results/accuracy-cpu.json   (the README's markdown table of a results file)
// Per split, on the same images in the same run: `train` with its defaults; ML.NET's DnnImageFeaturizer(ResNet18) +
// LbfgsMaximumEntropy; each explicit strategy (the deeper ones at the image size Auto chose, on splits up to
// --deep-strategies-up-to images). The defaults and the baseline are also asked about the other set's test images
// (SureMeasure: how many of those foreign images each answers at Score ≥ 0.9). Prints a table and writes JSON, and the same table as markdown next to it (.md).
using System.Text.Json;
using MlNetTransfer;
using MlNetTransfer.Accuracy;
using MlNetTransfer.Runtime;
using Spectre.Console;

if (args is ["--table-from", var resultsFile])
{
    Console.Write(MarkdownTable.From(resultsFile));
    return;
}
var options = AccuracyOptions.Parse(args);
var splits = new List<ImageSplit>();
if (options.Sets.Contains("fashion-mnist")) splits.AddRange(options.FashionSizes.Select(n => FashionMnistSplits.Prepare(options.DataRoot, n, 1000, options.Seed)));
if (options.Sets.Contains("icons")) splits.AddRange(options.IconSizes.Select(n => IconThemeSplits.Prepare(options.DataRoot, n, 1000, options.Seed)));
if (options.Sets.Contains("photos")) splits.AddRange(options.PhotoSizes.Select(n => PhotoSplits.Prepare(options.DataRoot, n, 200, options.Seed)));
if (args.Contains("--prepare-only"))
{
    foreach (var split in splits) AnsiConsole.WriteLine($"{split.TrainFolder} ({split.TrainImages}), {split.TestFolder} ({split.TestImages})");
    return;
}
TorchRuntime.EnsureLoaded();
var work = StaleFiles.CreateRunFolder("accuracy"); // a killed run's folder goes at the next start
AnsiConsole.WriteLine($"{Environment.ProcessorCount} cores, device {options.Device}; {splits.Count} splits; cases {string.Join(", ", options.Cases)}");

var results = new List<object>();
var table = new Table().AddColumns("data set", "train images", "case", "test accuracy", "macro", "wall s", "trained", "note");
foreach (var split in splits)
{
    AnsiConsole.WriteLine($"== {split.DataSet} {split.TrainImages} train / {split.TestImages} test: {split.Drawn}");
    var cases = new List<object>();
    CliRun.Result? byDefault = null;
    var foreign = SureMeasure.ForeignFolder(split, options.DataRoot, options.Seed); // the other set's test images
    void Row(string name, double accuracy, double macro, double seconds, string trained, string note)
    {
        table.AddRow(split.DataSet, $"{split.TrainImages}", name, $"{accuracy:P1}", $"{macro:P1}", $"{seconds:0}", Markup.Escape(trained), Markup.Escape(note));
        AnsiConsole.WriteLine($"   {name}: {accuracy:P1} (macro {macro:P1}) in {seconds:0} s — {trained} {note}");
    }
    CliRun.Result Train(string name, string arguments)
    {
        var log = new StringWriter();
        var run = CliRun.Train(split, Path.Combine(work, $"{split.DataSet}-{split.TrainImages}-{name}"), $"{arguments} --device {options.Device} --seed {options.Seed}",
            name == "default" ? foreign : null, log);
        var reasonNote = name == "default" ? $"Auto: {run.Reason}" : "";
        Row(name, run.MicroAccuracy, run.MacroAccuracy, run.Seconds,
            $"{run.Strategy} {run.ImageSize} px, {run.Epochs} epoch(s){(run.TestTimeFlip ? ", test-time flip" : "")}", reasonNote);
        cases.Add(new { Case = name, run.MicroAccuracy, run.MacroAccuracy, run.LogLoss, WallSeconds = run.Seconds, run.Strategy, run.ImageSize,
            run.Epochs, run.BestEpoch, run.HeadValidationAccuracy, run.TestTimeFlip, run.Reason, run.CommandLine,
            run.Temperature, run.LogLossUncalibrated, run.EceUncalibrated, run.Ece, run.Sure });
        return run;
    }

    if (options.Cases.Contains("default")) byDefault = Train("default", "");
    if (options.Cases.Contains("mlnet"))
    {
        var baseline = MlNetBaseline.Run(split, options.Seed, foreign);
        Row("ML.NET baseline", baseline.MicroAccuracy, baseline.MacroAccuracy, baseline.Seconds, "ResNet18 features 224 px + LbfgsMaximumEntropy", "");
        cases.Add(new { Case = "mlnet", baseline.MicroAccuracy, baseline.MacroAccuracy, baseline.LogLoss, WallSeconds = baseline.Seconds, baseline.Ece, baseline.Sure });
    }
    if (options.Cases.Contains("HeadOnly")) Train("HeadOnly", "--strategy HeadOnly");
    // the deeper strategies at the side Auto chose for this split (their own default, 224 px, takes hours per split on a CPU)
    int deepSide = byDefault is { Strategy: not "HeadOnly" } ? byDefault.ImageSize : 96;
    foreach (var strategy in new[] { "InitialLayers", "LastLayers", "WholeNetwork", "RetrainAll" }.Where(options.Cases.Contains))
        if (split.TrainImages <= options.DeepStrategiesUpTo) Train(strategy, $"--strategy {strategy} --image-size {deepSide}");

    results.Add(new { split.DataSet, split.Name, split.TrainImages, split.TestImages, split.Drawn, Cases = cases });
    Write(); // after every split: a long run that is stopped keeps what it measured
}
AnsiConsole.Write(table);
AnsiConsole.WriteLine($"wrote {Path.GetFullPath(options.Out)}");
Directory.Delete(work, recursive: true);

void Write()
{
    var document = new
    {
        Machine = new { Environment.ProcessorCount, options.Device, Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, Cuda = TorchRuntime.IsCudaAvailable },
        options.Seed, Splits = results,
    };
    File.WriteAllText(options.Out, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    File.WriteAllText(Path.ChangeExtension(options.Out, ".md"), MarkdownTable.From(options.Out));
}

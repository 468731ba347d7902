// Photo benchmark: dotnet run -c Release --project bench/MlNetTransfer.Photos -- [--sizes 400,4000] [--pngs 100]
//     [--side 224] [--skew-up-to 400] [--timed-images 400] [--data-dir ~/.cache/mlnettransfer-photos]
//     [--out bench/results/photos-cpu.json]
// Camera-sized JPEGs (4032 x 3024, 3-4 MB, a quarter stored turned with an EXIF orientation) and 2000 px PNGs, made
// from Debian's Fashion-MNIST by bench/photos/make_photos.py. Per set, in the same run: seconds per image to get each
// file to the network's side by train's decode pass, by Pillow (DCT scaling + resize, every core) and by SkiaSharp's
// full decode (on the first --timed-images files); the whole `train --strategy HeadOnly` (with its test evaluation), `evaluate` and `predict` as a user
// runs them (wall clock, peak memory); and for the smaller sets what the saved model answers for the test photos when
// a plain ML.NET app serves it (LoadImages) against what training saw. Writes JSON and a markdown table next to it.
using System.Globalization;
using System.Text;
using System.Text.Json;
using MlNetTransfer;
using MlNetTransfer.Photos;
using MlNetTransfer.Runtime;

string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
var sizes = Arg("--sizes", "400,4000").Split(',').Select(int.Parse).ToArray();
int pngs = int.Parse(Arg("--pngs", "100")), side = int.Parse(Arg("--side", "224")), skewUpTo = int.Parse(Arg("--skew-up-to", "400"));
int timedImages = int.Parse(Arg("--timed-images", "400"));
var repository = MlNetTransfer.Bench.Paths.Repository();
var root = Arg("--data-dir", Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mlnettransfer-photos"));
var output = Arg("--out", Path.Combine(repository, "bench", "results", "photos-cpu.json"));
TorchRuntime.EnsureLoaded();
var work = StaleFiles.CreateRunFolder("photos");
var sets = new PhotoSets(root, repository);
Console.WriteLine($"{Environment.ProcessorCount} cores; JPEG sets {string.Join(", ", sizes)}, {pngs} PNGs; side {side}");

var results = new List<object>();
var table = new StringBuilder();
table.AppendLine("| set | (a) train's decode | (b) Pillow, DCT-scaled + resize | (c) SkiaSharp full decode | (a) / (b) | train HeadOnly + test | ÷ (b) for those files | evaluate | predict | test accuracy |");
table.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
string Ms(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:0.0} ms");
string S(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0} s");

foreach (var count in sizes)
{
    var set = sets.Jpegs(count);
    var files = set.Files.ToList();
    // per image, the first 400 files are enough (SkiaSharp's full decode of 4 000 photos alone takes 10 minutes)
    var decode = DecodeTimings.Measure(files.Take(timedImages).ToList(), side, repository, work);
    Console.WriteLine($"{set.Name}: decode per image: ours {Ms(decode.Ours)}, Pillow {Ms(decode.Pillow)}, SkiaSharp full {Ms(decode.SkiaFull)}");
    var model = Path.Combine(work, $"out-{count}");
    // this machine's speed drifts by ±20 % from minute to minute: small sets run three times, each beside its own
    // Pillow reference, and the median ratio is reported
    var repeats = new List<(ChildRun Train, double Pillow)>();
    for (int r = 0; r < (count <= 400 ? 3 : 1); r++)
    {
        double pillow = r == 0 ? decode.Pillow : DecodeTimings.PillowPerImage(files.Take(timedImages).ToList(), side, repository, work);
        repeats.Add((ChildRun.Cli("train", "--data", set.Train, "--test", set.Test, "--strategy", "HeadOnly", "--out", model), pillow));
    }
    var (train, pillowOfMedian) = repeats.OrderBy(r => r.Train.Seconds / (r.Pillow * files.Count)).ElementAt(repeats.Count / 2);
    using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")));
    double accuracy = metrics.RootElement.GetProperty("test").GetProperty("microAccuracy").GetDouble();
    var timings = metrics.RootElement.GetProperty("timings");
    var zip = Path.Combine(model, "model.zip");
    var evaluate = ChildRun.Cli("evaluate", "--model", zip, "--data", set.Test);
    var predict = ChildRun.Cli("predict", "--model", zip, set.Test, "--csv", Path.Combine(work, $"scores-{count}.csv"));
    double reference = pillowOfMedian * files.Count; // Pillow's time for every file of the set, at its rate measured beside that run
    Console.WriteLine($"{set.Name}: train {S(train.Seconds)} ({train.Seconds / reference:0.0}x Pillow's decode of the same files, peak {train.PeakMegabytes:0} MB), " +
                      $"evaluate {S(evaluate.Seconds)} (peak {evaluate.PeakMegabytes:0} MB), predict {S(predict.Seconds)}; test accuracy {accuracy:P1}");
    var skew = count <= skewUpTo ? ServingSkew.Measure(zip, set.TestFiles, set.Turned) : null;
    foreach (var way in skew ?? [])
        Console.WriteLine($"  {way.Name}: accuracy {way.Accuracy:P1} (turned {way.TurnedAccuracy:P1}, upright {way.UprightAccuracy:P1}); " +
                          $"same class as trained {way.SameClass:P1}; |score difference| mean {way.MeanAbsScoreDifference:0.0000}, max {way.MaxAbsScoreDifference:0.000}");
    results.Add(new
    {
        Set = set.Name, Images = files.Count, TrainImages = set.TrainFiles.Count, TestImages = set.TestFiles.Count, Turned = set.Turned.Count,
        SecondsPerImage = decode, TrainSeconds = train.Seconds, TrainPeakMegabytes = train.PeakMegabytes,
        TrainTimings = new { Train = timings.GetProperty("trainSeconds").GetDouble(), Evaluate = timings.GetProperty("evaluateSeconds").GetDouble() },
        TrainOverPillow = train.Seconds / reference, TrainRuns = repeats.Select(r => new { r.Train.Seconds, PillowSecondsPerImage = r.Pillow }),
        EvaluateSeconds = evaluate.Seconds, EvaluatePeakMegabytes = evaluate.PeakMegabytes,
        PredictSeconds = predict.Seconds, PredictPeakMegabytes = predict.PeakMegabytes, TestAccuracy = accuracy, ServingSkew = skew,
    });
    table.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {set.Name} JPEGs 4032×3024 | {Ms(decode.Ours)} | {Ms(decode.Pillow)} | {Ms(decode.SkiaFull)} | {decode.Ours / decode.Pillow:0.00}× | " +
        $"{S(train.Seconds)} | {train.Seconds / reference:0.0}× | {S(evaluate.Seconds)} | {S(predict.Seconds)} | {accuracy * 100:0.0} % |"));
}

if (pngs > 0)
{
    var set = sets.Pngs(pngs);
    var decode = DecodeTimings.Measure(set.Files.ToList(), side, repository, work);
    Console.WriteLine($"{set.Name}: decode per image: ours {Ms(decode.Ours)}, Pillow {Ms(decode.Pillow)}, SkiaSharp full {Ms(decode.SkiaFull)}");
    results.Add(new { Set = set.Name, Images = decode.Images, SecondsPerImage = decode });
    table.AppendLine(string.Create(CultureInfo.InvariantCulture,
        $"| {set.Name} PNGs 2000×1500 | {Ms(decode.Ours)} | {Ms(decode.Pillow)} | {Ms(decode.SkiaFull)} | {decode.Ours / decode.Pillow:0.00}× | | | | | |"));
}

Directory.Delete(work, recursive: true);
var document = new { Machine = $"{Environment.ProcessorCount} cores", Side = side, Date = DateTime.UtcNow.ToString("yyyy-MM-dd"), Runs = results };
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
File.WriteAllText(output, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
File.WriteAllText(Path.ChangeExtension(output, ".md"), table.ToString());
Console.Write(table);
return 0;


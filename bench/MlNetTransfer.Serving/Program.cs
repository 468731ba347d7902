// Requests per second of the web API `train --web-api` writes, at 1 and 8 concurrent clients over HTTP, beside bare
// PredictionEngines (one per thread) doing the same decode and scoring in this process; and what the first request
// costs with and without the app's warm-up at load.
//   dotnet run -c Release --project bench/MlNetTransfer.Serving -- [--side 224] [--seconds 15] [--images <folder>] [--model <zip>] [--soak <requests>] [--out bench/results/serving-cpu.json]
// --soak N: then N more requests from 8 clients, the server's resident memory read after every tenth of them.
// The model: the embedded ResNet-18's classifier solved on data-samples (HeadOnly) at --side; the uploads: the
// data-samples test PNGs, or the image files of --images (camera photos, say).
using System.Text.Json;
using Microsoft.ML;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.MlNet;
using MlNetTransfer.Bench;
using MlNetTransfer.Serving;

var options = ServingOptions.Parse(args);
var repository = Paths.Repository();
var samples = Paths.Samples();
var work = Directory.CreateTempSubdirectory("mlnettransfer-serving-").FullName;
try
{
    var zip = options.Model ?? Path.Combine(work, "model.zip");
    if (options.Model == null) Train(samples, zip, options.Side);

    var folder = options.Images ?? Path.Combine(samples, "test");
    var uploads = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order().Take(200).Select(File.ReadAllBytes).ToList();
    Console.WriteLine($"model: ResNet-18 head-only at {options.Side} px; {uploads.Count} uploads from {folder} ({uploads.Average(u => u.Length) / 1024:0} KB each on average)");

    var bare1 = BareEngines.Measure(zip, options.Side, uploads, threads: 1, options.Seconds);
    var bare8 = BareEngines.Measure(zip, options.Side, uploads, threads: 8, options.Seconds);
    var server = Path.Combine(repository, "templates", "WebApi", "bin", "Release", "net10.0", "WebApi.dll");
    var (web1, web8, warm, soak) = await HttpLoad.Measure(server, zip, options.Side, uploads, options.Seconds, warmUp: true, options.Soak);
    var (_, _, cold, _) = await HttpLoad.Measure(server, zip, options.Side, uploads, seconds: 0, warmUp: false);

    var result = new
    {
        date = DateTime.UtcNow.ToString("yyyy-MM-dd"), machine = $"{Environment.ProcessorCount} logical processors",
        side = options.Side, uploads = uploads.Count, uploadFolder = folder, seconds = options.Seconds,
        bareEngine = new { oneThread = bare1, eightThreads = bare8 },
        webApi = new { oneClient = web1, eightClients = web8 },
        webApiOverBare = new { oneClient = web1.PerSecond / bare1.PerSecond, eightClients = web8.PerSecond / bare8.PerSecond },
        firstRequest = new { withWarmUp = warm, withoutWarmUp = cold },
        soak,
    };
    Console.WriteLine($"bare PredictionEngine: {bare1.PerSecond:0.0}/s (1 thread, p50 {bare1.P50Ms:0.0} ms), {bare8.PerSecond:0.0}/s (8 threads)");
    Console.WriteLine($"web API over HTTP:     {web1.PerSecond:0.0}/s (1 client, p50 {web1.P50Ms:0.0} ms), {web8.PerSecond:0.0}/s (8 clients, p50 {web8.P50Ms:0.0} ms)");
    Console.WriteLine($"first request: {warm.FirstRequestMs:0.0} ms with the warm-up (start to listening {warm.StartMs:0} ms), " +
                      $"{cold.FirstRequestMs:0.0} ms without (start {cold.StartMs:0} ms); steady p50 {web1.P50Ms:0.0} ms");
    if (soak.Count > 1)
        Console.WriteLine($"resident memory of the web API over {soak[^1].Requests} more requests: " +
                          string.Join(" → ", soak.Select(p => $"{p.ResidentMegabytes:0}")) + " MB");
    if (options.Out is { } output)
    {
        File.WriteAllText(output, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"written: {output}");
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

static void Train(string samples, string zip, int side)
{
    var mlContext = new MLContext(seed: 1);
    var train = mlContext.Data.LoadFromEnumerable(ImageRow.Load(samples, "train"));
    using (var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
        .Append(mlContext.Transforms.LoadImages("Image", samples, "ImagePath"))
        .Append(mlContext.TransferTrain(new TransferTrainOptions { ImageSize = side, Strategy = FineTuneStrategy.HeadOnly }))
        .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel")).Fit(train))
        mlContext.Model.Save(model, train.Schema, zip);
}

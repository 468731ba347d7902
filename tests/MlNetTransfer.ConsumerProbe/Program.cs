// Loads an ML.NET model zip and scores images with PredictionEngine and Evaluate, using only ML.NET packages.
//   MlNetTransfer.ConsumerProbe <model.zip> <image folder> <rows.tsv: path<TAB>label> <result.json> <temp folder>
using System.Text.Json;
using Microsoft.ML;

if (args.Length != 5)
{
    Console.Error.WriteLine("usage: MlNetTransfer.ConsumerProbe <model.zip> <image folder> <rows.tsv> <result.json> <temp folder>");
    return 2;
}
var (zip, folder, rowsFile, resultFile, tempFolder) = (args[0], args[1], args[2], args[3], args[4]);
var rows = File.ReadAllLines(rowsFile).Select(l => l.Split('\t')).Select(p => new ProbeInput { ImagePath = p[0], Label = p[1] }).ToList();

var ml = new MLContext(seed: 1) { TempFilePath = tempFolder };
var model = ml.Model.Load(zip, out _);
var predictions = new List<object>();
using (var engine = ml.Model.CreatePredictionEngine<ProbeInput, ProbeOutput>(model, new PredictionEngineOptions { OwnsTransformer = false }))
{
    foreach (var row in rows)
    {
        var output = engine.Predict(new ProbeInput { ImagePath = row.ImagePath });
        predictions.Add(new { row.ImagePath, output.PredictedLabel, output.Score });
    }
}
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(rows)));
(model as IDisposable)?.Dispose();

var assemblies = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order().ToList();
File.WriteAllText(resultFile, JsonSerializer.Serialize(new { predictions, metrics.MicroAccuracy, metrics.LogLoss, assemblies }));
Console.WriteLine($"scored {rows.Count} images, micro accuracy {metrics.MicroAccuracy:P1}");
return 0;

sealed class ProbeInput
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

sealed class ProbeOutput
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}

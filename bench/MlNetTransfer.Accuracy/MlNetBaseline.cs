using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetTransfer.Accuracy;

/// <summary>
/// What an ML.NET user already has, as ML.NET's own samples write it: LoadImages → ResizeImages(224) → ExtractPixels
/// → DnnFeaturizeImage(ResNet18) → cache → LbfgsMaximumEntropy with its defaults, trained on every training image,
/// scored on the test images (and on foreign ones, of classes it never saw, for <see cref="SureMeasure"/>).
/// </summary>
public static class MlNetBaseline
{
    public sealed record Result(double MicroAccuracy, double MacroAccuracy, double LogLoss, double Seconds, double Ece, SureMeasure Sure);

    sealed class Row
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public static Result Run(ImageSplit split, int seed, string? foreignFolder)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed);
        var train = ml.Data.LoadFromEnumerable(Rows(split.TrainFolder));
        var test = ml.Data.LoadFromEnumerable(Rows(split.TestFolder));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("ImageObject", imageFolder: "", inputColumnName: nameof(Row.ImagePath)))
            .Append(ml.Transforms.ResizeImages("ImageObject", imageWidth: 224, imageHeight: 224))
            .Append(ml.Transforms.ExtractPixels("Pixels", "ImageObject"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(labelColumnName: "Label", featureColumnName: "Features"));
        using var model = pipeline.Fit(train);
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        double seconds = clock.Elapsed.TotalSeconds;
        // its expected calibration error on the same bins the recipe's report uses
        var scores = scored.GetColumn<float[]>("Score").ToList();
        var labels = scored.GetColumn<uint>("Label").ToList();
        var confidence = scores.Select(s => (double)s.Max()).ToList();
        var right = scores.Select((s, i) => Array.IndexOf(s, s.Max()) == labels[i] - 1).ToList();
        var scoredTest = scores.Select((s, i) => new Cli.Reporting.ScoredImage("", (int)labels[i] - 1, s)).ToList();
        // foreign images carry a label the key map does not know (a missing key): only their scores are read
        var foreign = foreignFolder == null ? null
            : model.Transform(ml.Data.LoadFromEnumerable(SureMeasure.Images(foreignFolder).Select(f => new Row { ImagePath = f, Label = "foreign" })))
                .GetColumn<float[]>("Score").ToList();
        return new Result(metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss, seconds, Engine.Recipe.TemperatureScaling.Ece(confidence, right),
            SureMeasure.Of(scoredTest, foreign));
    }

    static List<Row> Rows(string folder) =>
        Directory.GetDirectories(folder).Order(StringComparer.Ordinal)
            .SelectMany(d => Directory.GetFiles(d).Where(f => Path.GetExtension(f) is ".png" or ".jpg").Order(StringComparer.Ordinal) // icons, photos
                .Select(f => new Row { ImagePath = f, Label = Path.GetFileName(d) }))
            .ToList();
}

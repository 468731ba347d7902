using System.Text.Json;
using Microsoft.ML;

namespace MlNetTransfer.Tests;

/// <summary>A zip saved by the previous release (tests/fixtures/previous-release: made with ML.NET 5.0.1, ONNX Runtime
/// 1.31.1 and SkiaSharp 2.88.9, its scores written by the ML.NET-only consumer then) still loads and scores as it did —
/// in this process, and in a process that has only ML.NET — whatever ML.NET this build carries.</summary>
public class PreviousReleaseModelTests
{
    static readonly string Folder = TestPaths.Fixture("previous-release");
    static string Images => Path.Combine(TestPaths.DataSamples, "fashion-mnist");

    sealed record Expected(string Image, string PredictedLabel, float[] Score);

    static (List<Expected> Rows, double MicroAccuracy) Recorded()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "scores.json")));
        var rows = json.RootElement.GetProperty("predictions").EnumerateArray().Select(p => new Expected(p.GetProperty("image").GetString()!,
            p.GetProperty("predictedLabel").GetString()!, p.GetProperty("score").EnumerateArray().Select(s => s.GetSingle()).ToArray())).ToList();
        return (rows, json.RootElement.GetProperty("microAccuracy").GetDouble());
    }

    static void AssertSame(Expected expected, string label, float[] score)
    {
        Assert.Equal(expected.PredictedLabel, label);
        Assert.Equal(expected.Score.Length, score.Length);
        for (int k = 0; k < score.Length; k++)
            Assert.True(Math.Abs(expected.Score[k] - score[k]) <= 1e-5f, $"{expected.Image}, class {k}: {score[k]} now, {expected.Score[k]} then");
    }

    [Fact]
    public void The_previous_releases_zip_loads_and_scores_as_it_did_in_this_process()
    {
        var (rows, accuracy) = Recorded();
        var mlContext = new MLContext(seed: 1);
        using var model = (IDisposable)mlContext.Model.Load(Path.Combine(Folder, "model.zip"), out _);
        var input = rows.Select(r => new ImageRow { ImagePath = Path.Combine(Images, r.Image), Label = Path.GetFileName(Path.GetDirectoryName(r.Image))! }).ToList();
        using (var engine = mlContext.Model.CreatePredictionEngine<ImageRow, ImagePrediction>((ITransformer)model, new PredictionEngineOptions { OwnsTransformer = false }))
            for (int i = 0; i < rows.Count; i++)
            {
                var prediction = engine.Predict(input[i]);
                AssertSame(rows[i], prediction.PredictedLabel, prediction.Score);
            }
        var metrics = mlContext.MulticlassClassification.Evaluate(((ITransformer)model).Transform(mlContext.Data.LoadFromEnumerable(input)));
        Assert.Equal(accuracy, metrics.MicroAccuracy, 6);
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void The_previous_releases_zip_scores_as_it_did_in_a_process_with_only_MLNET()
    {
        var (rows, accuracy) = Recorded();
        using var temp = new TempDirectory();
        using var result = ConsumerProbeProcess.Score(Path.Combine(Folder, "model.zip"), Images,
            rows.Select(r => (Path.Combine(Images, r.Image), Path.GetFileName(Path.GetDirectoryName(r.Image))!)), temp, out _);
        var predictions = result.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(rows.Count, predictions.Count);
        for (int i = 0; i < rows.Count; i++)
            AssertSame(rows[i], predictions[i].GetProperty("PredictedLabel").GetString()!,
                predictions[i].GetProperty("Score").EnumerateArray().Select(s => s.GetSingle()).ToArray());
        Assert.Equal(accuracy, result.RootElement.GetProperty("MicroAccuracy").GetDouble(), 6);
    }
}

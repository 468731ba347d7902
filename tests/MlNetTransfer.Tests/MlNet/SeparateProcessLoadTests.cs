using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetTransfer.Tests;

/// <summary>The saved zip is a regular ML.NET model: a separate process that references only Microsoft.ML,
/// ImageAnalytics, OnnxTransformer and ONNX Runtime loads it and gives the same Score and PredictedLabel.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class SeparateProcessLoadTests(TrainedPipeline trained)
{
    [Fact]
    public void A_process_without_mlnettransfer_or_torchsharp_scores_the_zip_the_same()
    {
        using var temp = new TempDirectory();
        var zip = temp.File("model.zip");
        trained.MLContext.Model.Save(trained.Model, trained.Train.Schema, zip);
        var rows = ImageRow.Samples("test");
        using var result = ConsumerProbeProcess.Score(zip, ImageRow.Root, rows.Select(r => (r.ImagePath, r.Label)), temp, out var probeTemp);
        var assemblies = result.RootElement.GetProperty("assemblies").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Contains("Microsoft.ML.OnnxTransformer", assemblies);
        Assert.DoesNotContain(assemblies, a => a.StartsWith("MlNetTransfer.Estimators") || a.StartsWith("TorchSharp"));
        Assert.Empty(Directory.GetFiles(probeTemp)); // the loaded model's ONNX temp file went with Dispose

        var scored = trained.Score(trained.Model);
        var labels = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).ToList();
        var scores = scored.GetColumn<float[]>("Score").ToList();
        var predictions = result.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(rows.Count, predictions.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(labels[i], predictions[i].GetProperty("PredictedLabel").GetString());
            var probeScores = predictions[i].GetProperty("Score").EnumerateArray().Select(s => s.GetSingle()).ToArray();
            Assert.All(scores[i].Zip(probeScores), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5f, $"row {i}: {p.First} vs {p.Second}"));
        }
        var inProcess = trained.MLContext.MulticlassClassification.Evaluate(scored);
        Assert.Equal(inProcess.MicroAccuracy, result.RootElement.GetProperty("MicroAccuracy").GetDouble(), 6);
    }
}

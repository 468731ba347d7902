using Microsoft.ML.OnnxRuntime;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace MlNetTransfer.Tests;

/// <summary>Calibrated scores: the temperature fitted on held-out images, what it does to the calibration error and
/// the log-loss, that it never changes a prediction, and that the exported model serves it.</summary>
public class CalibrationTests
{
    public CalibrationTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Scores from logits whose labels were drawn at <paramref name="truth"/> times their spread: a model that
    /// serves softmax(logits) is overconfident by that temperature.</summary>
    static (Tensor Served, Tensor Labels) Overconfident(double truth, int images = 4000, int classes = 5)
    {
        var random = new Random(7);
        var logits = new float[images * classes];
        var labels = new long[images];
        for (int i = 0; i < images; i++)
        {
            var row = Enumerable.Range(0, classes).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
            row.CopyTo(logits, i * classes);
            var weights = row.Select(z => Math.Exp(z / truth)).ToArray();
            double draw = random.NextDouble() * weights.Sum(), sum = 0;
            labels[i] = classes - 1;
            for (int c = 0; c < classes; c++)
                if ((sum += weights[c]) >= draw) { labels[i] = c; break; }
        }
        return (nn.functional.softmax(tensor(logits).view(images, classes), 1), tensor(labels));
    }

    [Fact]
    public void The_fitted_temperature_is_the_one_that_made_overconfident_scores_and_it_lowers_calibration_error_and_log_loss()
    {
        var (served, labels) = Overconfident(truth: 2.5);
        using (served)
        using (labels)
        {
            var calibration = TemperatureScaling.Fit(served, labels);

            Assert.InRange(calibration.Temperature, 2.2, 2.8);
            Assert.Equal(4000, calibration.Images);
            Assert.True(calibration.EceAfter < calibration.EceBefore / 3, $"ECE {calibration.EceBefore} → {calibration.EceAfter}");
            Assert.True(calibration.LogLossAfter < calibration.LogLossBefore - 0.05, $"log-loss {calibration.LogLossBefore} → {calibration.LogLossAfter}");
        }
    }

    [Fact]
    public void A_temperature_the_validation_images_cannot_pin_down_is_withheld_with_the_reason_and_the_scores_kept()
    {
        var (served, drawn) = Overconfident(truth: 2.5, images: 400);
        using (served)
        using (drawn)
        {
            using var right = served.argmax(1); // every image predicted right: the log-loss falls as long as T does
            var allRight = TemperatureScaling.Fit(served, right);
            using var fewServed = served[..4];
            using var fewLabels = drawn[..4];
            var few = TemperatureScaling.Fit(fewServed, fewLabels);
            var enough = TemperatureScaling.Fit(served, drawn);

            Assert.False(allRight.Applied);
            Assert.Equal((1.0, 400), (allRight.Temperature, allRight.Images));
            Assert.Contains("every one of the 400 validation images is predicted right", allRight.Withheld);
            Assert.Equal(allRight.EceBefore, allRight.EceAfter);
            Assert.False(few.Applied, few.Describe());
            Assert.Equal(1.0, few.Temperature);
            Assert.Contains("too uncertain to apply", few.Withheld);
            Assert.StartsWith("not calibrated: ", few.Describe());
            Assert.True(enough.Applied, enough.Describe());
            Assert.InRange(enough.Temperature, 1.8, 3.5);
        }
    }

    [Fact]
    public void Calibration_keeps_every_prediction_and_undoing_it_gives_the_served_scores_back()
    {
        var (served, labels) = Overconfident(truth: 0.5, images: 500);
        using (served)
        using (labels)
        {
            var calibration = TemperatureScaling.Fit(served, labels);
            using var calibrated = TemperatureScaling.Apply(served, calibration.Temperature);

            Assert.True(calibration.Temperature < 0.7, $"underconfident scores are sharpened: T = {calibration.Temperature}");
            Assert.Equal(served.argmax(1).data<long>().ToArray(), calibrated.argmax(1).data<long>().ToArray());
            var rows = calibrated.data<float>().Chunk(5).ToList();
            var original = served.data<float>().Chunk(5).ToList();
            for (int i = 0; i < rows.Count; i++)
                Assert.All(TemperatureScaling.Undo(rows[i], calibration.Temperature).Zip(original[i]), p => Assert.Equal(p.Second, p.First, 1e-5f));
        }
    }

    [Fact]
    public void The_calibration_error_is_zero_where_each_confidence_is_right_as_often_as_it_says_and_their_gap_where_not()
    {
        // ten images at 0.8 (eight right) and ten at 0.55 (five right: 0.05 too sure)
        var confidence = Enumerable.Repeat(0.8, 10).Concat(Enumerable.Repeat(0.55, 10)).ToList();
        var right = Enumerable.Range(0, 10).Select(i => i < 8).Concat(Enumerable.Range(0, 10).Select(i => i < 5)).ToList();

        Assert.Equal(0.025, TemperatureScaling.Ece(confidence, right), 1e-12);
        Assert.Equal(0, TemperatureScaling.Ece(confidence.Take(10).ToList(), right.Take(10).ToList()), 1e-12);
        Assert.Equal(2, TemperatureScaling.ReliabilityBins(confidence, right).Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_exported_model_serves_the_calibrated_scores_and_the_same_prediction(bool testTimeFlip)
    {
        random.manual_seed(3);
        using var model = ArchitectureRegistry.Get("tiny").Create(4);
        model.eval();
        using var pixels = randint(0, 256, [6, 3, 16, 16]).to_type(ScalarType.Float32);
        var preprocessing = Preprocessing.Unit(16);
        var plain = Run(OnnxExporter.Export(model, "tiny", preprocessing, ["a", "b", "c", "d"], testTimeFlip: testTimeFlip), pixels);
        var calibrated = Run(OnnxExporter.Export(model, "tiny", preprocessing, ["a", "b", "c", "d"], testTimeFlip: testTimeFlip, temperature: 0.4), pixels);

        Assert.Equal(plain.Predicted, calibrated.Predicted);
        using var expected = TemperatureScaling.Apply(tensor(plain.Scores).view(6, 4), 0.4);
        Assert.All(expected.data<float>().ToArray().Zip(calibrated.Scores), p => Assert.Equal(p.First, p.Second, 1e-5f));
        Assert.False(plain.Scores.Zip(calibrated.Scores).All(p => Math.Abs(p.First - p.Second) < 1e-3)); // the temperature did something
        var metadata = OnnxMetadata.Read(OnnxGraph.Parse(OnnxExporter.Export(model, "tiny", preprocessing, ["a", "b", "c", "d"], temperature: 0.4)), "test");
        Assert.Equal(0.4, metadata.Temperature, 12);
    }

    static (float[] Scores, long[] Predicted) Run(byte[] onnx, Tensor pixels)
    {
        using var session = new InferenceSession(onnx);
        var input = new DenseTensor(pixels.data<float>().ToArray(), pixels.shape.Select(d => (int)d).ToArray());
        using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input)]);
        return (outputs.Single(o => o.Name == OnnxExporter.ScoreName).AsEnumerable<float>().ToArray(),
                outputs.Single(o => o.Name == OnnxExporter.PredictedIndexName).AsEnumerable<long>().ToArray());
    }
}

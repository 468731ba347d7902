using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Cli.Reporting;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>What train writes besides the model: the report's pictures, its page and the consumption code, at the
/// sizes and in the forms a user opens them.</summary>
public class ReportTests : CliSandbox
{
    [Fact]
    public void The_consumption_code_keeps_a_class_name_with_a_line_break_inside_its_comment()
    {
        // a CSV's quoted target may hold a line break; the rest of the name must not become code
        var code = ConsumptionCode.Render("model.zip", ["Bag", "Coat\r\nvar x = 1;"], 224);

        Assert.Contains("// Bag, Coat var x = 1;", code);
        Assert.DoesNotContain(code.Split('\n'), line => line.TrimStart().StartsWith("var x"));
    }
    [Theory]
    [InlineData(3, 1000)]
    [InlineData(10, 1000)]
    [InlineData(1000, 2100)] // at a fixed cell of 18 px it was an 18 000 px picture, 1.4 GB to draw
    public void The_confusion_matrix_picture_stays_a_readable_size_whatever_the_number_of_classes(int classes, int largestSide)
    {
        var names = Enumerable.Range(0, classes).Select(i => i == 1 ? new string('x', 500) : $"class {i}").ToList(); // a name of 500 letters is cut
        var counts = Enumerable.Range(0, classes).Select(a => Enumerable.Range(0, classes).Select(p => a == p ? 9 : (a + p) % 7 == 0 ? 1 : 0).ToArray()).ToArray();

        var png = ChartRenderer.ConfusionMatrix(names, counts);

        using var codec = SKCodec.Create(new MemoryStream(png));
        Assert.InRange(codec.Info.Width, 400, largestSide);
        Assert.InRange(codec.Info.Height, 400, largestSide);
    }
    [Fact]
    public void The_reports_gallery_embeds_large_photos_scaled_down_and_small_images_as_they_are()
    {
        // a 3 000 x 2 000 photo-like picture (noise: about 20 MB as PNG) and a 28 px image, both confidently wrong
        var photo = _temp.File("photo.png");
        using (var bitmap = new SKBitmap(3000, 2000, SKColorType.Rgba8888, SKAlphaType.Opaque))
        {
            var random = new Random(1);
            var pixels = new byte[3000 * 2000 * 4];
            random.NextBytes(pixels);
            for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(photo, data.ToArray());
        }
        var small = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        var scored = new[] { new ScoredImage(photo, 0, [0.1f, 0.9f]), new ScoredImage(small, 0, [0.2f, 0.8f]), new ScoredImage(small, 1, [0.1f, 0.9f]) };
        var run = new RunRecord("tiny", "scratch", FineTuneStrategy.HeadOnly, "named", 32, "cpu", false, null, null,
            FlipDecision.NotMeasured("not measured"), Calibration.None, new TrainingResult([], 1, false, false, "head"));
        var report = new TrainingReport(ClassificationReport.Compute(["A", "B"], scored), "test", run, 3, [], 1, 1);

        var html = HtmlReport.Render(report, [], [], null, "/");

        Assert.True(new FileInfo(photo).Length > 10_000_000);
        Assert.True(html.Length < 200_000, $"{html.Length} characters");
        Assert.Contains("data:image/jpeg;base64,", html); // the photo, scaled to 280 px
        // the 28 px image pixel for pixel as the model saw it (lossless)
        var embedded = System.Text.RegularExpressions.Regex.Matches(html, "data:image/png;base64,([^\"]+)").Select(m => Convert.FromBase64String(m.Groups[1].Value)).ToList();
        Assert.NotEmpty(embedded);
        using var original = SKBitmap.Decode(small).Copy(SKColorType.Bgra8888);
        using var shown = SKBitmap.Decode(embedded[0]).Copy(SKColorType.Bgra8888);
        Assert.Equal((28, 28), (shown.Width, shown.Height));
        Assert.True(original.GetPixelSpan().SequenceEqual(shown.GetPixelSpan()));
    }

    [Fact]
    public void The_reports_pictures_decode_their_images_within_the_pixel_limit_the_run_read_them_under()
    {
        var small = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First(); // 28 × 28
        var scored = new[] { new ScoredImage(small, 0, [0.2f, 0.8f]), new ScoredImage(small, 1, [0.1f, 0.9f]) };
        var run = new RunRecord("tiny", "scratch", FineTuneStrategy.HeadOnly, "named", 32, "cpu", false, null, null,
            FlipDecision.NotMeasured("not measured"), Calibration.None, new TrainingResult([], 1, false, false, "head"));
        var report = new TrainingReport(ClassificationReport.Compute(["A", "B"], scored), "test", run, 3, [], 1, 1)
        {
            Heatmaps = new Dictionary<string, float[,]> { [small] = new float[2, 2] { { 0, 0.5f }, { 1, 0 } } },
        };

        var within = HtmlReport.Render(report with { MaxImagePixels = 28 * 28 }, [], [], null, "/");
        var over = HtmlReport.Render(report with { MaxImagePixels = 28 * 28 - 1 }, [], [], null, "/");

        // the gallery's picture and the heatmap's: the limit given (a raised one lets a large photo in), not the default
        string gallery = $"alt=\"{System.Net.WebUtility.HtmlEncode(small)}\">"; // the gallery's picture of the image
        Assert.Contains("alt=\"where the model looked in", within);
        Assert.Contains(gallery, within);
        Assert.DoesNotContain("alt=\"where the model looked in", over);
        Assert.DoesNotContain(gallery, over);
    }

    [Fact]
    public void Metrics_json_writes_the_run_record_under_the_training_keys_scripts_read()
    {
        var head = new HeadChoice(1e-3, 224, 0.9, 0.8, 0.5, 40, true, [new HeadChoice.Candidate(1e-3, 0.8, 0.5)], 2.5);
        var auto = new AutoDecision(FineTuneStrategy.HeadOnly, 224, 20, 0.8, 0.5, 0.6, false, 10, 600, 140,
            [new AutoDecision.Timing(FineTuneStrategy.WholeNetwork, 112, 30.5, 9)], "too few images");
        var run = new RunRecord("resnet18_cntk_multilevel", "resnet18_cntk.imagenet", FineTuneStrategy.HeadOnly, auto.Reason, 224, "cpu", true,
            head, auto, FlipDecision.NotMeasured("no validation"), new Calibration(1.5, 80, 0.1, 0.02, 0.6, 0.5),
            new TrainingResult([new EpochSummary(1, 0.4, 0.9, 0.5, 0.8, 0, 2.5, 100)], 1, false, false, "head", null, null, false, null));
        var scored = new[] { new ScoredImage("a.png", 0, [0.9f, 0.1f]), new ScoredImage("b.png", 1, [0.2f, 0.8f]) };
        var report = new TrainingReport(ClassificationReport.Compute(["A", "B"], scored), "test", run, 40, [], 3, 1)
        {
            Calibration = CalibrationReport.Of(scored, 1.5),
        };

        var folder = Path.Combine(_temp.Path, "out");
        ReportWriter.Write(folder, report, _temp.Path, "model.zip");

        using var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ReportWriter.MetricsFile)));
        var training = metrics.RootElement.GetProperty("training");
        Assert.Equal(["architecture", "weights", "strategy", "strategyReason", "device", "imageSize", "batchSize", "balanceClasses", "images",
            "skippedImages", "bestEpoch", "stoppedEarly", "stopReason", "history", "classifier", "auto", "testTimeFlip"],
            training.EnumerateObject().Select(p => p.Name));
        Assert.Equal("resnet18_cntk_multilevel", training.GetProperty("architecture").GetString());
        Assert.Equal("HeadOnly", training.GetProperty("strategy").GetString());
        var autoJson = training.GetProperty("auto");
        Assert.Equal("too few images", autoJson.GetProperty("reason").GetString());
        Assert.Equal((600.0, 140.0), (autoJson.GetProperty("budgetSeconds").GetDouble(), autoJson.GetProperty("spentSeconds").GetDouble()));
        Assert.Equal(9, autoJson.GetProperty("timings")[0].GetProperty("secondsAfter").GetDouble());
        Assert.Equal(1e-3, training.GetProperty("classifier").GetProperty("l2").GetDouble());
        Assert.True(training.GetProperty("balanceClasses").GetBoolean());
        Assert.Equal(40, training.GetProperty("images").GetInt32());
        Assert.Equal(["trainSeconds", "evaluateSeconds"], metrics.RootElement.GetProperty("timings").EnumerateObject().Select(p => p.Name));
        var calibration = metrics.RootElement.GetProperty("calibration");
        Assert.Equal(1.5, calibration.GetProperty("temperature").GetDouble());
        Assert.Equal(80, calibration.GetProperty("validation").GetProperty("images").GetInt32());
        Assert.Equal(2, calibration.GetProperty("images").GetInt32());
        Assert.True(File.Exists(Path.Combine(folder, ReportWriter.ReliabilityFile)));
        Assert.Contains("(time budget 600 s)", File.ReadAllText(Path.Combine(folder, ReportWriter.HtmlFile))); // the budget the run was planned in
    }
}

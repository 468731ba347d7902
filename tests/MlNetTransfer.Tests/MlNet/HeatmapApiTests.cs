using Microsoft.ML;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Tests;

/// <summary>Grad-CAM through the fitted step and from its saved zip: one map per image file at the last stage's
/// resolution, scaled to 1, for the class asked, from the trained network rebuilt out of the step's ONNX model (no other
/// file); an unreadable file gets none.</summary>
[Collection(TorchRandomCollection.Name)]
public class HeatmapApiTests
{
    [Fact]
    public void The_fitted_step_draws_where_its_network_looks_in_image_files()
    {
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 4));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath"))
            .Append(ml.TransferTrain(new TransferTrainOptions { ImageSize = 64, Strategy = FineTuneStrategy.HeadOnly, TestTimeFlip = false }));
        var model = pipeline.Fit(data);
        var step = model.LastTransformer;
        var files = ImageRow.Samples("test", perClass: 1).Take(2).Select(r => Path.Combine(ImageRow.Root, r.ImagePath)).Append(temp.File("missing.png")).ToList();

        var maps = step.Heatmaps(files, [0, 3, 1]);

        Assert.Equal(3, maps.Count);
        Assert.Null(maps[2]);
        foreach (var map in maps.Take(2))
        {
            Assert.Equal((2, 2), (map!.GetLength(0), map.GetLength(1))); // the ResNet's last stage at 64 px
            var values = map.Cast<float>().ToList();
            Assert.All(values, v => Assert.InRange(v, 0f, 1f));
            Assert.True(values.Max() is 1f or 0f);
        }
        Assert.Single(Directory.GetFiles(temp.Path)); // the step's ONNX model is all it keeps

        // the saved zip, loaded back as ML.NET's stock transforms, draws the same maps from the file alone
        using var saved = new TempDirectory();
        var zip = Path.Combine(saved.Path, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        var fromZip = TransferModelFile.Heatmaps(zip, files, [0, 3, 1]);
        Assert.Null(fromZip[2]);
        for (int i = 0; i < 2; i++) Assert.Equal(maps[i]!.Cast<float>(), fromZip[i]!.Cast<float>());
        // past one batch (16 images), with a file missing inside it: each map is the one its image gets alone
        var many = ImageRow.Samples("test", perClass: 2).Select(r => Path.Combine(ImageRow.Root, r.ImagePath)).Take(18).ToList();
        many[3] = temp.File("gone.png");
        var manyClasses = many.Select((_, i) => i % 10).ToList();
        var batched = TransferModelFile.Heatmaps(zip, many, manyClasses);
        Assert.Equal(18, batched.Count);
        Assert.Null(batched[3]);
        foreach (int i in new[] { 0, 4, 15, 16, 17 })
        {
            var alone = TransferModelFile.Heatmaps(zip, [many[i]], [manyClasses[i]])[0]!;
            Assert.Equal(alone.Cast<float>(), batched[i]!.Cast<float>(), (a, b) => Math.Abs(a - b) < 1e-4f);
        }
        var wrong = Assert.Throws<ArgumentOutOfRangeException>(() => TransferModelFile.Heatmaps(zip, files.Take(1).ToList(), [10]));
        Assert.Contains($"{zip} has 10 classes, numbered 0 to 9", wrong.Message);
        model.Dispose();
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}

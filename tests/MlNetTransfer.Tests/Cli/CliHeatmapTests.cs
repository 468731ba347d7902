using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>`predict --heatmaps`: where the saved model's network looks for each predicted class, one picture per image
/// scored, in a folder that mirrors the input's.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliHeatmapTests : CliSandbox
{
    [Fact]
    public void Predict_writes_a_heatmap_picture_per_scored_image_under_the_inputs_own_folders()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var input = Path.Combine(_temp.Path, "input");
        foreach (var folder in new[] { "Bag", "Sneaker" })
        {
            Directory.CreateDirectory(Path.Combine(input, folder));
            foreach (var file in Directory.GetFiles(Path.Combine(Test, folder)))
                File.Copy(file, Path.Combine(input, folder, Path.GetFileName(file)));
        }
        File.WriteAllBytes(Path.Combine(input, "Bag", "broken.png"), File.ReadAllBytes(Directory.GetFiles(Path.Combine(Test, "Bag"))[0])[..40]);
        var maps = Path.Combine(_temp.Path, "maps");

        var (exit, output) = Run($"predict --model {model} {input} --heatmaps {maps}");

        Assert.True(exit == ExitCodes.Success, output);
        var scored = Directory.GetFiles(input, "*.png", SearchOption.AllDirectories).Where(f => !f.EndsWith("broken.png")).ToList();
        var pictures = Directory.GetFiles(maps, "*", SearchOption.AllDirectories);
        Assert.Equal(scored.Select(f => PredictionHeatmaps.PictureName(f, input)).Order(), pictures.Select(p => Path.GetRelativePath(maps, p)).Order());
        Assert.Contains($"{scored.Count} heatmap(s) written to {maps}", output.Replace("\n", " "));
        foreach (var picture in pictures)
        {
            using var bitmap = SKBitmap.Decode(picture);
            Assert.Equal((GalleryPicture.Side, GalleryPicture.Side), (bitmap.Width, bitmap.Height));
        }

        // one image: its picture under its own name; a --heatmaps that is a file: refused before any work
        var one = scored[0];
        (exit, output) = Run($"predict --model {model} {one} --heatmaps {maps}-one");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.True(File.Exists(Path.Combine($"{maps}-one", Path.GetFileName(one) + PredictionHeatmaps.Suffix)), output);
        (exit, output) = Run($"predict --model {model} {one} --heatmaps {model}");
        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("--heatmaps", output);
        // inside the folder scored: the next predict there would score the pictures as images
        (exit, output) = Run($"predict --model {model} {input} --heatmaps {Path.Combine(input, "maps")}");
        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("inside the folder predict scores", output);
        Assert.False(Directory.Exists(Path.Combine(input, "maps")));
    }

    [Fact]
    public void A_picture_decodes_its_image_within_the_pixel_limit_the_image_was_scored_under()
    {
        var image = Directory.GetFiles(Path.Combine(Test, "Bag")).Order().First(); // 28 × 28
        var map = new float[2, 2] { { 0, 0.5f }, { 1, 0 } };

        Assert.NotNull(HeatmapPicture.Of(image, map, maxPixels: 28 * 28));
        Assert.Null(HeatmapPicture.Of(image, map, maxPixels: 28 * 28 - 1)); // the limit given, not the default, decides
    }
}

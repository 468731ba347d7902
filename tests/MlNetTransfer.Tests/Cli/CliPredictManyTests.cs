using System.Text.RegularExpressions;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;

namespace MlNetTransfer.Tests;

/// <summary>`predict --csv` on a folder of many images: the CSV holds every score and a file beside it every skipped
/// image with why, and the screen shows the first 20 of each with how many more — where it printed a table row per
/// image and a line per skipped one (5 861 lines for a folder of 3 000 partly damaged files). Without --csv the screen
/// is the only output and shows them all.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliPredictManyTests : CliSandbox
{
    [Fact]
    public void Predict_with_a_csv_shows_the_first_twenty_and_writes_every_score_and_every_skipped_image_beside_it()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var images = Directory.CreateDirectory(_temp.File("many")).FullName;
        var png = Directory.GetFiles(Path.Combine(Train, "Bag"))[0];
        for (int i = 0; i < 30; i++) File.Copy(png, Path.Combine(images, $"good-{i:00}.png"));
        for (int i = 0; i < 23; i++) File.WriteAllBytes(Path.Combine(images, $"bad-{i:00}.bmp"), HostileImages.Bmp(8, 8, pixelsAt: 0x5FFF_FFF0));
        var csv = _temp.File("scores.csv");
        var skippedFile = PredictCommand.SkippedFile(csv);

        var (exit, output) = Run($"predict --model {model} {images} --csv {csv}");
        var (plainExit, plain) = Run($"predict --model {model} {images}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Equal(20, Regex.Matches(output, @"^skipped ", RegexOptions.Multiline).Count);
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains($"... and 3 more skipped (all 23 listed in {skippedFile})", text);
        Assert.Contains($"... and 10 more images (their scores are in {csv})", text);
        Assert.Equal(31, File.ReadAllLines(csv).Length); // the header and every scored image
        var skipped = File.ReadAllLines(skippedFile);
        Assert.Equal(23, skipped.Length);
        Assert.All(skipped, line => Assert.Matches(@"bad-\d\d\.bmp: not a readable image", line));
        Assert.True(plainExit == ExitCodes.Success, plain);
        Assert.Equal(23, Regex.Matches(plain, @"^skipped ", RegexOptions.Multiline).Count); // the screen alone: all of them

        foreach (var bad in Directory.GetFiles(images, "bad-*")) File.Delete(bad);
        Assert.Equal(ExitCodes.Success, Run($"predict --model {model} {images} --csv {csv}").Exit);
        Assert.False(File.Exists(skippedFile), "an earlier run's list of skipped images is not left beside a CSV that skipped none");
    }
}

using System.Text.RegularExpressions;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;

namespace MlNetTransfer.Tests;

/// <summary>`predict --csv` on a folder of many images: the CSV holds every score and a file beside it every skipped
/// image with why, and the screen shows the first 20 of each with how many more — where it printed a table row per
/// image and a line per skipped one (5 861 lines for a folder of 3 000 partly damaged files). Without --csv the screen
/// is the only output and shows them all; so do `evaluate` and `check` without --json, where they showed 20 and said the
/// rest were "listed in --json's file" that nobody asked for.</summary>
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
        // beside them what a phone's folder holds that is no image SkiaSharp reads: named, not passed over in silence
        foreach (var other in new[] { "IMG_0001.HEIC", "IMG_0002.heic", "notes.txt" }) File.WriteAllText(Path.Combine(images, other), "not read");
        var csv = _temp.File("scores.csv");
        var skippedFile = PredictCommand.SkippedFile(csv);

        var (exit, output) = Run($"predict --model {model} {images} --csv {csv}");
        var (plainExit, plain) = Run($"predict --model {model} {images}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Equal(20, Regex.Matches(output, @"^skipped ", RegexOptions.Multiline).Count);
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains($"left alone in {images}: files that are not images by their extension (2 .heic, 1 .txt)", text);
        Assert.Contains(".heic files are images (HEIC) that SkiaSharp cannot decode: convert them to JPEG first", text);
        Assert.Contains($"... and 3 more skipped (all 23 listed in {skippedFile})", text);
        Assert.Contains($"... and 10 more images (their scores are in {csv})", text);
        Assert.Equal(31, File.ReadAllLines(csv).Length); // the header and every scored image
        var skipped = File.ReadAllLines(skippedFile);
        Assert.Equal(23, skipped.Length);
        Assert.All(skipped, line => Assert.Matches(@"bad-\d\d\.bmp: not a readable image", line));
        Assert.True(plainExit == ExitCodes.Success, plain);
        Assert.Equal(23, Regex.Matches(plain, @"^skipped ", RegexOptions.Multiline).Count); // the screen alone: all of them

        // "-": the CSV alone on standard output, for a pipe; the table and the skipped images go to standard error
        var (pipedExit, piped) = Run($"predict --model {model} {images} --csv -");
        Assert.True(pipedExit == ExitCodes.Success, piped);
        Assert.Equal(File.ReadAllLines(csv), piped.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Path.GetFullPath("-")), "no file named -");

        foreach (var bad in Directory.GetFiles(images, "bad-*")) File.Delete(bad);
        Assert.Equal(ExitCodes.Success, Run($"predict --model {model} {images} --csv {csv}").Exit);
        Assert.False(File.Exists(skippedFile), "an earlier run's list of skipped images is not left beside a CSV that skipped none");
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)] // check reads the embedded ResNet's features
    public void Evaluate_and_check_name_every_skipped_image_where_the_screen_is_the_only_output_and_list_them_all_in_their_json()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        for (int i = 0; i < 23; i++) File.WriteAllText(Path.Combine(Test, "Bag", $"bad-{i:00}.png"), "not a png");
        var json = _temp.File("metrics.json");

        var (plainExit, plain) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test}");
        var (jsonExit, withJson) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test} --json {json}");
        var (checkExit, check) = Run($"check --data {Train} --test {Test} --json {_temp.File("check.json")}");
        var (plainCheckExit, plainCheck) = Run($"check --data {Train} --test {Test}");

        Assert.True(plainExit == ExitCodes.Success, plain);
        Assert.Equal(23, Regex.Matches(plain, @"^  \S*bad-\d\d\.png", RegexOptions.Multiline).Count);
        Assert.DoesNotContain("more (all listed in", plain);
        Assert.True(jsonExit == ExitCodes.Success, withJson);
        Assert.Equal(20, Regex.Matches(withJson, @"^  \S*bad-\d\d\.png", RegexOptions.Multiline).Count);
        Assert.Contains($"... and 3 more (all listed in {json})", withJson.ReplaceLineEndings(" "));
        using (var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)))
            Assert.Equal(23, metrics.RootElement.GetProperty("skipped").GetArrayLength());
        Assert.True(checkExit == ExitCodes.Success, check);
        using (var issues = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_temp.File("check.json"))))
            Assert.Equal(23, issues.RootElement.GetProperty("skipped").GetArrayLength()); // the test images' too: the check's JSON named none
        Assert.True(plainCheckExit == ExitCodes.Success, plainCheck);
        Assert.Equal(23, Regex.Matches(plainCheck, @"^  \S*bad-\d\d\.png", RegexOptions.Multiline).Count);
    }
}

using System.Text.Json;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>Every `train` checks its data: a copy inside the training images and a test image copied in them, in the
/// console, metrics.json's <c>dataIssues</c> (paths as the folder gives them) and report.html (with thumbnails);
/// --exclude-flagged trains without the flagged images and says how many; --no-data-checks skips them.</summary>
public class TrainDataChecksTests : CliSandbox
{
    /// <summary>The embedded ResNet's classifier alone at a small side: the checks read pretrained features.</summary>
    const string Pretrained = "--strategy HeadOnly --image-size 32 --test-time-flip off";

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Train_names_a_copy_and_a_leak_in_the_report_and_metrics_and_exclude_flagged_leaves_them_out()
    {
        var bag = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        var trouser = Directory.GetFiles(Path.Combine(Train, "Trouser")).Order().First();
        File.Copy(bag, Path.Combine(Train, "Bag", "zz-copy.png"));
        File.Copy(trouser, Path.Combine(Test, "Trouser", "leaked.png"));

        var (exit, output) = Run($"train --data {Train} --test {Test} {Pretrained} --exclude-flagged --out {Out}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("test image(s) copied in training", output);
        Assert.Contains("Bag/zz-copy.png", output); // the surest of each kind on screen
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "metrics.json")));
        var issues = metrics.RootElement.GetProperty("dataIssues").EnumerateArray().ToList();
        Assert.Contains(issues, i => i.GetProperty("kind").GetString() == "duplicate" && i.GetProperty("path").GetString() == "Bag/zz-copy.png"
                                     && i.GetProperty("other").GetString() == $"Bag/{Path.GetFileName(bag)}");
        Assert.Contains(issues, i => i.GetProperty("kind").GetString() == "leak" && i.GetProperty("path").GetString() == "Trouser/leaked.png"
                                     && i.GetProperty("other").GetString() == $"Trouser/{Path.GetFileName(trouser)}");
        var health = metrics.RootElement.GetProperty("dataHealth");
        Assert.Equal((25, 10), (health.GetProperty("trainImages").GetInt32(), health.GetProperty("testImages").GetInt32()));
        int excluded = health.GetProperty("excludedFromTraining").GetInt32();
        // the label errors, the copy, and the training image the test image copies
        Assert.Equal(issues.Select(i => i.GetProperty("kind").GetString() == "leak" ? i.GetProperty("other").GetString() : i.GetProperty("kind").GetString() == "outlier" ? null : i.GetProperty("path").GetString())
            .Where(p => p != null).Distinct().Count(), excluded);
        Assert.InRange(excluded, 1, 25);
        Assert.Equal(25 - excluded, metrics.RootElement.GetProperty("training").GetProperty("images").GetInt32()); // what it trained on
        var report = File.ReadAllText(Path.Combine(Out, "report.html"));
        Assert.Contains("<h3>Test images copied in training (1)</h3>", report);
        Assert.Contains("alt=\"Trouser/leaked.png\"", report); // its thumbnail, beside the training image it copies
        Assert.Contains($"alt=\"Trouser/{Path.GetFileName(trouser)}\"", report);
        Assert.Contains("the test accuracy above overstates", report);
        Assert.Contains("<h2>Where the model looks</h2>", report); // Grad-CAM over the top losses and each class's surest right image
        Assert.Contains("alt=\"where the model looked in ", report);
    }

    [Fact]
    public void No_data_checks_writes_that_the_data_was_not_checked()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} {Fast} --epochs 1 --no-data-checks --out {Out}");

        Assert.True(exit == ExitCodes.Success, output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "metrics.json")));
        Assert.False(metrics.RootElement.GetProperty("dataHealth").GetProperty("checked").GetBoolean());
        Assert.Empty(metrics.RootElement.GetProperty("dataIssues").EnumerateArray());
        Assert.Contains("The data was not checked in this run", File.ReadAllText(Path.Combine(Out, "report.html")));
    }
}

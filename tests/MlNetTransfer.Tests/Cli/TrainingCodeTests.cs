using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Strategies;

namespace MlNetTransfer.Tests;

/// <summary>`train` writes its training as C# (Train.cs, Model Builder's training code) with the options it was
/// given and the images it trained on, in order (training-images.csv, test-images.csv, which the CLI reads back as
/// the same run). That the script builds against the package and gives the same model is PackageConsumerTests'.</summary>
[Collection(TorchRandomCollection.Name)]
public class TrainingCodeTests : CliSandbox
{
    [Fact]
    public void Train_writes_Train_cs_with_the_options_given_and_the_images_it_trained_on_which_the_CLI_reads_back_as_the_same_run()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 2 --out {Out} {Fast}");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"{TrainingCode.File}: this run as C#", output);

        var code = File.ReadAllText(Path.Combine(Out, TrainingCode.File));
        Assert.Contains($"#:package MlNetTransfer.Estimators@{Runtime.RuntimeReport.ProductVersion}", code);
        foreach (var line in new[] { "Architecture = \"tiny\",", "Weights = \"scratch\",", "Strategy = FineTuneStrategy.RetrainAll,", "ImageSize = 16,",
                     "Epochs = 2,", "LearningRate = 0.01,", "Seed = 1," })
            Assert.Contains("    " + line + "\n", code);
        Assert.DoesNotContain("BatchSize =", code); // a default stays out
        Assert.DoesNotContain("Auto chose", code); // the strategy was named

        var trained = Rows(TrainingCode.TrainingImages);
        Assert.Equal(24, trained.Count);
        Assert.All(trained, r => Assert.StartsWith($"..{Path.DirectorySeparatorChar}train{Path.DirectorySeparatorChar}", r.File)); // out/ beside train/: relative
        Assert.All(trained, r => Assert.Equal(Path.GetFileName(Path.GetDirectoryName(r.File)), r.Label));
        Assert.All(trained, r => Assert.True(File.Exists(Path.Combine(Out, r.File)), r.File));
        Assert.Equal(9, Rows(TrainingCode.TestImages).Count);

        var again = Path.Combine(_temp.Path, "again");
        (exit, output) = Run($"train --data {Path.Combine(Out, TrainingCode.TrainingImages)} --test {Path.Combine(Out, TrainingCode.TestImages)} --epochs 2 --out {again} {Fast}");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Equal(TestMetrics(Out), TestMetrics(again)); // the same images in the same order: the same model
    }

    [Fact]
    public void Where_Auto_chose_the_choice_is_written_with_the_lines_that_pin_it()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --out {Out} --arch tiny --weights scratch --image-size 16");
        Assert.True(exit == ExitCodes.Success, output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        var strategy = metrics.RootElement.GetProperty("training").GetProperty("strategy").GetString();
        var reason = metrics.RootElement.GetProperty("training").GetProperty("strategyReason").GetString()!;

        var code = File.ReadAllText(Path.Combine(Out, TrainingCode.File));
        Assert.Contains("    Strategy = FineTuneStrategy.Auto,\n", code);
        Assert.Contains("// Auto chose " + string.Join(" ", reason.Split(' ').Take(4)), code);
        Assert.Contains($"//     Strategy = FineTuneStrategy.{strategy}, ImageSize = 16", code);
    }

    [Theory]
    [InlineData("/home/ann/project/out", "/home/ann/project/photos/cat/1.jpg", "../photos/cat/1.jpg")]
    [InlineData("/home/ann/project/out", "/home/ann/photos/cat/1.jpg", "../../photos/cat/1.jpg")]
    [InlineData("/tmp/run/out", "/srv/photos/cat/1.jpg", "/srv/photos/cat/1.jpg")] // only / in common: the full path
    [InlineData("/home/ann/out", "/home/ann/out/data/cat/1.jpg", "data/cat/1.jpg")]
    public void A_list_names_a_file_relative_to_its_folder_unless_they_share_only_the_root(string folder, string file, string expected)
    {
        Assert.Equal(expected, TrainingCode.Listed(folder, file));
    }

    [Fact]
    public void Option_values_are_written_as_CSharp_literals()
    {
        Assert.Equal("TimeSpan.FromMinutes(7)", TrainingCode.Literal(TimeSpan.FromMinutes(7)));
        Assert.Equal("TimeSpan.FromSeconds(90)", TrainingCode.Literal(TimeSpan.FromSeconds(90)));
        Assert.Equal("0.0003", TrainingCode.Literal(3e-4));
        Assert.Equal("FineTuneStrategy.LastLayers", TrainingCode.Literal(FineTuneStrategy.LastLayers));
        Assert.Equal("\"C:\\\\weights\\\\a \\\"b\\\".pth\"", TrainingCode.Literal("C:\\weights\\a \"b\".pth"));
        Assert.Equal("null", TrainingCode.Literal(null));
        Assert.Equal("178956970", TrainingCode.Literal(178956970L));
    }

    List<(string File, string Label)> Rows(string list) =>
        File.ReadAllLines(Path.Combine(Out, list)).Skip(1).Select(l => l.Split(',')).Select(f => (f[0], f[1])).ToList();

    static (double, double) TestMetrics(string output)
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ReportWriter.MetricsFile)));
        var test = metrics.RootElement.GetProperty("test");
        return (test.GetProperty("microAccuracy").GetDouble(), test.GetProperty("logLoss").GetDouble());
    }
}

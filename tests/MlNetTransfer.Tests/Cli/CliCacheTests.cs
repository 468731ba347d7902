using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>`train --cache-dir`: decoded images kept and reused while the image files are unchanged, the same model
/// either way, and nothing half-written left in the folder.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliCacheTests : CliSandbox
{
    [Fact]
    public void A_second_run_with_the_same_cache_folder_decodes_nothing_and_trains_the_same_model()
    {
        var cache = _temp.File("cache");

        var (firstExit, first) = Run($"train --data {Train} --test {Test} --epochs 2 --out {Out}-1 --cache-dir {cache} {Fast}");
        var (secondExit, second) = Run($"train --data {Train} --test {Test} --epochs 2 --out {Out}-2 --cache-dir {cache} {Fast}");

        Assert.True(firstExit == ExitCodes.Success, first);
        Assert.True(secondExit == ExitCodes.Success, second);
        Assert.Contains("24 decoded in", first);
        Assert.Contains("24 reused from the decoded-image cache", second);
        Assert.DoesNotContain("decoded in", second);
        Assert.Equal(Accuracy($"{Out}-1"), Accuracy($"{Out}-2"));
        var kept = Directory.GetFiles(cache).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(2, kept.Count); // the images and their manifest: no temp files
        Assert.Single(kept, f => f!.EndsWith(".u8"));

        var changed = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        File.SetLastWriteTimeUtc(changed, DateTime.UtcNow.AddMinutes(-3));
        var (thirdExit, third) = Run($"train --data {Train} --test {Test} --epochs 2 --out {Out}-3 --cache-dir {cache} {Fast}");
        Assert.True(thirdExit == ExitCodes.Success, third);
        Assert.Contains("24 decoded in", third); // one file changed: decoded again
    }

    [Fact]
    public void A_resumed_run_reads_the_images_its_interrupted_run_decoded_into_its_cache_folder()
    {
        var cache = _temp.File("cache");
        using var interrupted = new CancellationTokenSource();
        var console = new CancellingConsole(new TestConsole().Width(250), "epoch 1/4", interrupted);
        int exit = RunOn(console, $"train --data {Train} --test {Test} --epochs 4 --out {Out} --cache-dir {cache} {Fast}", interrupted.Token);
        Assert.True(exit == ExitCodes.Interrupted, console.Output);

        var (resumed, said) = Run($"train --resume --out {Out}"); // no --cache-dir: the interrupted run's

        Assert.True(resumed == ExitCodes.Success, said);
        Assert.Contains("24 reused from the decoded-image cache", said);
        Assert.DoesNotContain("decoded in", said);
    }

    [Fact]
    public void A_cache_folder_that_cannot_be_written_is_a_bad_option_before_any_work()
    {
        var file = _temp.File("a-file");
        File.WriteAllText(file, "");

        var (exit, output) = Run($"train --data {Train} --test {Test} --out {Out} --cache-dir {file}/sub {Fast}");

        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("--cache-dir", output);
        Assert.DoesNotContain("training on", output);
    }

    static double Accuracy(string output)
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ReportWriter.MetricsFile)));
        return metrics.RootElement.GetProperty("test").GetProperty("microAccuracy").GetDouble();
    }
}

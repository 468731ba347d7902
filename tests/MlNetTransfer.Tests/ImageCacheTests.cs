using Microsoft.ML;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>What a cache folder remembers between runs: whole files by path, size and time (a damaged file is never
/// remembered, a changed one is checked again), and decoded images only while their manifest matches.</summary>
public class CheckedFilesTests
{
    public CheckedFilesTests() => TorchRuntime.EnsureLoaded();

    static string SamplePng => Path.Combine(ImageRow.Root, ImageRow.Samples("train", perClass: 1)[0].ImagePath);

    [Fact]
    public void Whole_files_are_remembered_across_runs_and_damaged_or_changed_ones_are_checked_again()
    {
        using var cache = new TempDirectory();
        using var images = new TempDirectory();
        File.Copy(SamplePng, images.File("whole.png"));
        File.WriteAllBytes(images.File("cut.png"), File.ReadAllBytes(SamplePng)[..100]);

        var first = CheckedFiles.In(cache.Path);
        Assert.Null(first.Problem(images.File("whole.png")));
        Assert.Contains("truncated", first.Problem(images.File("cut.png")));
        first.Save();

        var remembered = File.ReadAllLines(cache.File(CheckedFiles.FileName));
        Assert.Single(remembered); // the whole file only
        Assert.StartsWith(images.File("whole.png") + "\t", remembered[0]);

        // the next run trusts the list for an unchanged file: replace its bytes, keep its size and time
        var time = File.GetLastWriteTimeUtc(images.File("whole.png"));
        var garbage = new byte[new FileInfo(images.File("whole.png")).Length];
        File.WriteAllBytes(images.File("whole.png"), garbage);
        File.SetLastWriteTimeUtc(images.File("whole.png"), time);
        Assert.Null(CheckedFiles.In(cache.Path).Problem(images.File("whole.png")));

        // a changed time is a changed file: decoded again, and found broken
        File.SetLastWriteTimeUtc(images.File("whole.png"), time.AddSeconds(-10));
        Assert.NotNull(CheckedFiles.In(cache.Path).Problem(images.File("whole.png")));
        Assert.Contains("truncated", CheckedFiles.In(cache.Path).Problem(images.File("cut.png")));
    }

    [Fact]
    public void A_damaged_manifest_means_decoding_again_with_a_line_that_says_why()
    {
        using var cache = new TempDirectory();
        var rows = ImageRow.Samples("train", perClass: 2);
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath")).Fit(view).Transform(view);
        var classes = rows.Select(r => r.Label).Distinct().ToArray();
        var log = new List<string>();
        ImageTensorReader.Result Read() => ImageTensorReader.Read(ml, data, "Image", "Label", classes, 12, new ImageFiles("ImagePath", ImageRow.Root),
            new ImageCache(cache.Path, reuse: true, log.Add));

        Read().Data.Dispose();
        File.WriteAllText(Directory.GetFiles(cache.Path, "*.json").Single(), "{ not json");
        var again = Read();

        Assert.False(again.Reused);
        Assert.Contains(log, l => l.Contains("not used") && l.Contains("decoding again"));
        Assert.Equal(rows.Count, again.Data.Count);
        again.Data.Dispose();
        var third = Read();
        Assert.True(third.Reused, "the rewritten cache is reused");
        third.Data.Dispose();
    }
}

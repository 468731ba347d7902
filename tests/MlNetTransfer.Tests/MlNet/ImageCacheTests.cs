using Microsoft.ML;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>What a cache folder keeps between runs: decoded images, used only while their manifest matches.</summary>
public class ImageCacheTests
{
    public ImageCacheTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Reads two images per class of data-samples through a reusable cache in <paramref name="folder"/>.</summary>
    static Func<ImageTensorReader.Result> Reader(string folder, List<string> log)
    {
        var rows = ImageRow.Samples("train", perClass: 2);
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath")).Fit(view).Transform(view);
        var classes = rows.Select(r => r.Label).Distinct().ToArray();
        return () => ImageTensorReader.Read(ml, data, "Image", "Label", classes, 12, new ImageFiles("ImagePath", ImageRow.Root),
            new ImageCache(folder, reuse: true, log.Add));
    }

    [Fact]
    public void A_damaged_manifest_means_decoding_again_with_a_line_that_says_why()
    {
        using var cache = new TempDirectory();
        var log = new List<string>();
        var read = Reader(cache.Path, log);

        read().Data.Dispose();
        File.WriteAllText(Directory.GetFiles(cache.Path, "*.json").Single(), "{ not json");
        var again = read();

        Assert.False(again.Reused);
        Assert.Contains(log, l => l.Contains("not used") && l.Contains("decoding again"));
        Assert.Equal(ImageRow.Samples("train", perClass: 2).Count, again.Data.Count);
        again.Data.Dispose();
        var third = read();
        Assert.True(third.Reused, "the rewritten cache is reused");
        third.Data.Dispose();
    }

    [Fact]
    public void An_edited_manifest_or_a_store_of_other_bytes_is_rebuilt_with_a_line_that_says_why()
    {
        using var cache = new TempDirectory();
        var log = new List<string>();
        var read = Reader(cache.Path, log);
        using var first = read().Data;
        using var expected = first.ReadAll();
        var manifest = Directory.GetFiles(cache.Path, "*.json").Single();
        var store = Directory.GetFiles(cache.Path, "*.u8").Single();

        // a record number edited past the end of the store (it used to fail the run with an internal message, exit 8)
        var original = File.ReadAllText(manifest);
        File.WriteAllText(manifest, System.Text.RegularExpressions.Regex.Replace(original, "\"Records\":\\[\\d+", "\"Records\":[999"));
        var afterEdit = read();
        // the store's bytes replaced by others of the same length (it used to train on them, at chance)
        var noise = new byte[new FileInfo(store).Length];
        new Random(1).NextBytes(noise);
        File.WriteAllBytes(store, noise);
        var afterNoise = read();

        Assert.False(afterEdit.Reused);
        Assert.Contains(log, l => l.Contains("its manifest names a record outside the store's") && l.Contains("decoding again"));
        Assert.False(afterNoise.Reused);
        Assert.Contains(log, l => l.Contains("do not match the checksum its manifest keeps") && l.Contains("decoding again"));
        using var rebuilt = afterNoise.Data.ReadAll();
        Assert.True(expected.eq(rebuilt).all().item<bool>(), "decoded again: the same pixels");
        afterEdit.Data.Dispose();
        afterNoise.Data.Dispose();
        var again = read();
        again.Data.Dispose();
        Assert.True(again.Reused, "the rebuilt cache is reused");
    }
}

using Microsoft.ML;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>What a cache folder keeps between runs: decoded images, used only while their manifest matches.</summary>
public class ImageCacheTests
{
    public ImageCacheTests() => TorchRuntime.EnsureLoaded();

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

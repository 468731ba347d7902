using Microsoft.ML;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Reading images for training: decoded on every core, yet in row order, and bad rows reported.</summary>
public class ImageTensorReaderTests
{
    public ImageTensorReaderTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Rows_come_back_in_their_order_with_the_pixels_of_their_own_image()
    {
        var ml = new MLContext(seed: 1);
        var rows = ImageRow.Samples("train");
        var data = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath"))
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var classes = rows.Select(r => r.Label).Distinct().ToArray(); // MapValueToKey's default: order of occurrence

        var result = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 28);

        Assert.Equal(0, result.Skipped);
        Assert.Equal(rows.Select(r => Array.IndexOf(classes, r.Label)).Select(i => (long)i), result.Data.Labels.data<long>().ToArray());
        using var reference = SampleImages.Load("train", 28); // 28 px: no resampling, so pixels must match exactly
        for (int i = 0; i < rows.Count; i += 37)
        {
            var file = Path.GetFileName(rows[i].ImagePath);
            int j = Directory.GetDirectories(Path.Combine(ImageRow.Root, "train")).Order(StringComparer.Ordinal)
                .SelectMany(d => Directory.GetFiles(d, "*.png").Order(StringComparer.Ordinal)).ToList()
                .FindIndex(f => Path.GetFileName(f) == file);
            Assert.True(result.Data.Slice(i, 1).equal(reference.Slice(j, 1)).all().item<bool>(), $"row {i} ({file}) holds another image's pixels");
        }
        result.Data.Dispose();
    }

    [Fact]
    public void Unreadable_images_are_skipped_and_named_by_row()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("broken.png"), "not a png");
        var (ml, data, classes, count) = SamplesWith(temp.File("broken.png"), at: 3);

        var result = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 16);

        Assert.Equal(1, result.Skipped);
        Assert.Contains("row 4", Assert.Single(result.Problems));
        Assert.Equal(count - 1, result.Data.Count);
        result.Data.Dispose();
    }

    [Fact]
    public void A_truncated_image_is_decoded_by_load_images_but_skipped_when_the_fit_knows_the_files()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("cut.png"), File.ReadAllBytes(Path.Combine(ImageRow.Root, ImageRow.Samples("train", perClass: 1)[0].ImagePath))[..100]);
        var (ml, data, classes, count) = SamplesWith(temp.File("cut.png"), at: 2);

        var unchecked_ = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 16);
        var checked_ = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 16, new ImageFiles("ImagePath", ImageRow.Root));

        Assert.Equal(0, unchecked_.Skipped); // what ML.NET alone does: the cut file is a picture with black rows
        Assert.Equal(1, checked_.Skipped);
        Assert.EndsWith("cut.png: truncated or damaged (its image data ends early)", Assert.Single(checked_.Problems)); // the path as the row gives it
        Assert.Equal(count - 1, checked_.Data.Count);
        unchecked_.Data.Dispose();
        checked_.Data.Dispose();
    }

    [Fact]
    public void Decoded_images_go_to_a_temp_file_that_leaves_with_the_data_and_a_failed_read_leaves_nothing()
    {
        using var temp = new TempDirectory();
        using var missing = new TempDirectory();
        var (ml, data, classes, count) = SamplesWith(missing.File("gone.png"), at: 0);
        ml.TempFilePath = temp.Path;

        var result = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 16);
        var store = Assert.Single(Directory.GetFiles(temp.Path));
        Assert.Matches(@"mlnettransfer-\d+-[0-9a-f]{32}\.images$", store); // named after this process: a later run removes it after a crash
        Assert.Equal((count - 1) * 3L * 16 * 16, new FileInfo(store).Length); // the skipped row takes no record
        result.Data.Dispose();
        Assert.Empty(Directory.GetFiles(temp.Path));

        var onlyBad = ml.Data.LoadFromEnumerable(new[] { new ImageRow { ImagePath = missing.File("gone.png"), Label = classes[0] } });
        var classRows = ml.Data.LoadFromEnumerable(classes.Select(c => new ImageRow { Label = c }));
        var keys = ml.Transforms.SelectColumns("Label").Fit(classRows).Transform(classRows);
        var badData = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath")).Fit(onlyBad).Transform(onlyBad);
        Assert.Throws<InvalidOperationException>(() => ImageTensorReader.Read(ml, badData, "Image", "Label", classes, 16));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void A_cache_folder_reuses_decoded_images_until_a_file_changes()
    {
        using var images = new TempDirectory();
        using var cacheFolder = new TempDirectory();
        var rows = ImageRow.Samples("train", perClass: 2).Select(r =>
        {
            var copy = images.File(Path.GetFileName(r.ImagePath));
            File.Copy(Path.Combine(ImageRow.Root, r.ImagePath), copy);
            return new ImageRow { ImagePath = Path.GetFileName(copy), Label = r.Label };
        }).ToList();
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", images.Path, "ImagePath")).Fit(view).Transform(view);
        var classes = rows.Select(r => r.Label).Distinct().ToArray();
        var files = new ImageFiles("ImagePath", images.Path);
        ImageTensorReader.Result Read() => ImageTensorReader.Read(ml, data, "Image", "Label", classes, 20, files, new ImageCache(cacheFolder.Path, reuse: true, log: null));

        var first = Read();
        var second = Read();

        Assert.False(first.Reused);
        Assert.True(second.Reused, "an unchanged input must not be decoded again");
        Assert.Equal(first.Data.Labels.data<long>().ToArray(), second.Data.Labels.data<long>().ToArray());
        using (var a = first.Data.ReadAll())
        using (var b = second.Data.ReadAll())
            Assert.True(a.equal(b).all().item<bool>(), "the reused images differ from the decoded ones");
        first.Data.Dispose();
        second.Data.Dispose();
        Assert.Equal(2, Directory.GetFiles(cacheFolder.Path).Length); // the store and its manifest, nothing half-written

        File.SetLastWriteTimeUtc(images.File(rows[3].ImagePath), DateTime.UtcNow.AddMinutes(-5));
        var third = Read();
        Assert.False(third.Reused, "a changed file must be decoded again");
        third.Data.Dispose();
    }

    /// <summary>Two sample images per class with <paramref name="path"/> (labelled as the first class) inserted at
    /// <paramref name="at"/>, through MapValueToKey and LoadImages.</summary>
    static (MLContext Ml, IDataView Data, string[] Classes, int Count) SamplesWith(string path, int at)
    {
        var rows = ImageRow.Samples("train", perClass: 2);
        rows.Insert(at, new ImageRow { ImagePath = path, Label = rows[0].Label });
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath")).Fit(view).Transform(view);
        return (ml, data, rows.Select(r => r.Label).Distinct().ToArray(), rows.Count);
    }
}

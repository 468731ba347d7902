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
            Assert.True(result.Data.Images[i].equal(reference.Images[j]).all().item<bool>(), $"row {i} ({file}) holds another image's pixels");
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
        Assert.Contains("row 3", Assert.Single(checked_.Problems));
        Assert.Contains("cut.png: truncated", checked_.Problems[0]);
        Assert.Equal(count - 1, checked_.Data.Count);
        unchecked_.Data.Dispose();
        checked_.Data.Dispose();
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

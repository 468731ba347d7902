using Microsoft.ML;
using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Tests;

/// <summary>The data checks through the ML.NET API: the fitted transformer names a copy inside the training rows and a
/// test row (TestSet) copied in them by the rows of the data given to Fit, an unreadable row before them counted.</summary>
[Collection(TorchRandomCollection.Name)]
public class DataHealthApiTests
{
    [Fact]
    public void The_fitted_step_names_flagged_images_by_their_rows_in_the_data_it_was_given()
    {
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var rows = ImageRow.Samples("train", perClass: 6);
        var (original, leaked) = (rows[10], rows[20]);
        rows.Insert(3, new ImageRow { ImagePath = "train/Bag/not-there.png", Label = "Bag" }); // skipped: the rows after it move
        rows.Add(new ImageRow { ImagePath = original.ImagePath, Label = original.Label }); // the same file twice
        var testRows = ImageRow.Samples("test", perClass: 1);
        testRows.Add(new ImageRow { ImagePath = leaked.ImagePath, Label = leaked.Label });
        var data = ml.Data.LoadFromEnumerable(rows);
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);
        var test = ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath").Fit(keys.Transform(ml.Data.LoadFromEnumerable(testRows)))
            .Transform(keys.Transform(ml.Data.LoadFromEnumerable(testRows)));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath"))
            .Append(ml.TransferTrain(new TransferTrainOptions
            {
                ImageSize = 32, Strategy = FineTuneStrategy.HeadOnly, TestTimeFlip = false, ImagePathColumnName = "ImagePath", ImageFolder = ImageRow.Root,
                TestSet = test,
            }));

        using var model = pipeline.Fit(data);

        var health = model.LastTransformer.DataHealth;
        Assert.Equal((rows.Count - 1, testRows.Count), (health.TrainImages, health.TestImages));
        var duplicate = Assert.Single(health.Issues, i => i.Kind == DataIssueKind.Duplicate);
        Assert.Equal((rows.Count - 1L, (long)rows.IndexOf(original)), (duplicate.Row, duplicate.Other!.Value));
        var leak = Assert.Single(health.Issues, i => i.Kind == DataIssueKind.Leak);
        Assert.Equal((testRows.Count - 1L, (long)rows.IndexOf(leaked)), (leak.Row, leak.Other!.Value));
        Assert.Equal(original.Label, health.Classes[duplicate.Label]);
        Assert.All(health.Issues.Where(i => i.Kind != DataIssueKind.Leak), i => Assert.NotEqual(3L, i.Row)); // the skipped row is no image
    }

    [Fact]
    public void A_test_set_with_no_usable_image_does_not_stop_the_run_and_the_log_says_it_was_not_searched()
    {
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 3));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);
        var missing = keys.Transform(ml.Data.LoadFromEnumerable(new[] { new ImageRow { ImagePath = "test/Bag/not-there.png", Label = "Bag" } }));
        var log = new List<string>();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath"))
            .Append(ml.TransferTrain(new TransferTrainOptions
            {
                ImageSize = 32, Strategy = FineTuneStrategy.HeadOnly, TestTimeFlip = false, ImagePathColumnName = "ImagePath", ImageFolder = ImageRow.Root,
                TestSet = ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath").Fit(missing).Transform(missing), Log = log.Add,
            }));

        using var model = pipeline.Fit(data);

        Assert.True(model.LastTransformer.DataHealth.Checked);
        Assert.Equal(0, model.LastTransformer.DataHealth.TestImages);
        Assert.Contains(log, l => l.StartsWith("data checks: test images not searched for copies (No usable rows"));
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)] // the embedded ResNet's features
    public void DataHealthCheck_given_test_rows_none_of_which_has_a_known_label_checks_the_training_rows_and_says_so()
    {
        using var temp = new TempDirectory();
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        var data = ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 4));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);
        var images = ml.Transforms.LoadImages("Image", ImageRow.Root, "ImagePath");
        // a class the key map does not know: every label is a missing key, so no row is usable
        var foreign = keys.Transform(ml.Data.LoadFromEnumerable(ImageRow.Samples("test", perClass: 1).Select(r => new ImageRow { ImagePath = r.ImagePath, Label = "Foreign" })));
        var log = new List<string>();
        var options = new TransferTrainOptions { ImageSize = 32, ImagePathColumnName = "ImagePath", ImageFolder = ImageRow.Root, Log = log.Add };

        var empty = keys.Transform(ml.Data.LoadFromEnumerable(new List<ImageRow>()));
        var training = images.Fit(keys.Transform(data)).Transform(keys.Transform(data));

        var report = DataHealthCheck.Run(ml, training, options, images.Fit(foreign).Transform(foreign));
        var none = DataHealthCheck.Run(ml, training, options, images.Fit(empty).Transform(empty)); // no row: the decode's empty range threw

        Assert.Equal((40, 0), (report.TrainImages, report.TestImages));
        Assert.Contains(log, l => l.StartsWith("data health: test images not checked for copies or unfamiliar images (No usable rows: 10 of 10 skipped"));
        Assert.Equal((40, 0), (none.TrainImages, none.TestImages));
        Assert.Contains(log, l => l.StartsWith("data health: test images not checked for copies or unfamiliar images (No usable rows: 0 of 0 skipped"));
    }
}

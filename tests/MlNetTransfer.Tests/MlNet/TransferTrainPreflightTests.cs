using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>The adapter's one preflight, which the CLI's train, job export and memory check call before any image is
/// decoded: options by name, the starting weights, the device, memory and disk, and the split the recipe draws.</summary>
public class TransferTrainPreflightTests
{
    public TransferTrainPreflightTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_bad_option_is_named_by_its_property()
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => TransferTrainPreflight.CheckOptions(new TransferTrainOptions { ImageSize = 16 }));
        Assert.Equal(nameof(TransferTrainOptions.ImageSize), error.ParamName);
        Assert.Throws<ArgumentException>(() => TransferTrainPreflight.CheckOptions(new TransferTrainOptions { ScoreColumnName = " " }));
    }

    [Fact]
    public void An_architecture_without_embedded_weights_and_none_given_is_refused_before_any_data()
    {
        var error = Assert.Throws<NoPretrainedWeightsException>(() =>
            TransferTrainPreflight.CheckOptions(new TransferTrainOptions { Architecture = "alexnet" }));
        Assert.Contains("alexnet", error.Message);
        TransferTrainPreflight.CheckOptions(new TransferTrainOptions { Architecture = "alexnet", Weights = PretrainedCatalog.Scratch });
        // a continued model brings its own weights: nothing to resolve
        TransferTrainPreflight.CheckOptions(new TransferTrainOptions { Architecture = "alexnet", ContinueFromModelPath = "model.zip" });
    }

    [Fact]
    public void The_device_is_the_one_MLContext_and_the_options_choose()
    {
        var choice = TransferTrainPreflight.Device(new MLContext(seed: 1), new TransferTrainOptions { Device = DeviceKind.Cpu });
        Assert.Equal("cpu", choice.Device);
    }

    [Fact]
    public void Memory_and_disk_scale_with_the_images_and_halve_on_disk_when_only_the_classifier_learns()
    {
        var deeper = new TransferTrainOptions { Architecture = "tiny", Weights = PretrainedCatalog.Scratch, ImageSize = 32, Strategy = FineTuneStrategy.RetrainAll };
        var small = TransferTrainPreflight.Resources(deeper, 1_000);
        var large = TransferTrainPreflight.Resources(deeper, 10_000);
        Assert.Equal(1_000L * 3 * 32 * 32 * 2, small.DiskBytes); // the classifier's side and the training side
        Assert.Equal(10 * small.DiskBytes, large.DiskBytes);
        Assert.Equal(small.ActivationBytes, large.ActivationBytes); // a batch's, whatever the number of images
        Assert.Equal(32, small.BatchSize); // the CPU's default

        deeper.Strategy = FineTuneStrategy.HeadOnly;
        Assert.Equal(small.DiskBytes / 2, TransferTrainPreflight.Resources(deeper, 1_000).DiskBytes);
    }

    [Fact]
    public void The_validation_split_is_stratified_reproducible_and_absent_at_fraction_zero()
    {
        var labels = Enumerable.Range(0, 30).Select(i => (long)(i % 3)).ToList(); // 10 per class
        var options = new TransferTrainOptions { ValidationFraction = 0.2, Seed = 7 };
        var (fit, validation) = TransferTrainPreflight.ValidationSplit(options, labels);
        Assert.Equal(30, fit.Count + validation.Count);
        Assert.Empty(fit.Intersect(validation));
        Assert.All(Enumerable.Range(0, 3), c => Assert.Equal(2, validation.Count(row => labels[(int)row] == c)));
        Assert.Equal(validation, TransferTrainPreflight.ValidationSplit(options, labels).Validation);
        Assert.NotEqual(validation, TransferTrainPreflight.ValidationSplit(new TransferTrainOptions { ValidationFraction = 0.2, Seed = 8 }, labels).Validation);

        var (all, none) = TransferTrainPreflight.ValidationSplit(new TransferTrainOptions { ValidationFraction = 0 }, labels);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), all);
        Assert.Empty(none);
    }
}

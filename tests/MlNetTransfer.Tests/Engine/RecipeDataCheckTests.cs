using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The data checks inside a run, on the features its classifier is solved on: a copy inside the training
/// images and a test image copied in them named with the images they copy, the model the same as without the checks,
/// ExcludeFlagged training without what they flag (and a checkpoint that remembers it), none on random weights.</summary>
[Collection(TorchRandomCollection.Name)]
public class RecipeDataCheckTests
{
    public RecipeDataCheckTests() => TorchRuntime.EnsureLoaded();

    const int Side = 32;

    static FineTuneOptions Options(Action<FineTuneOptions>? change = null)
    {
        var options = new FineTuneOptions { Strategy = FineTuneStrategy.HeadOnly, ImageSize = Side, Seed = 3, TestTimeFlip = false };
        change?.Invoke(options);
        return options;
    }

    /// <summary>data-samples' first 100 training garments (ten of each class) and row 5 again as row 100; ten test
    /// garments and training row 7 as test row 10.</summary>
    static (ImageTensorDataset Train, ImageTensorDataset Test) WithCopies()
    {
        using var train = SampleImages.Load("train", Side);
        using var test = SampleImages.Load("test", Side);
        var rows = Enumerable.Range(0, 10).SelectMany(c => Enumerable.Range(40 * c, 10)).Select(i => (long)i).ToArray();
        using var kept = tensor(rows);
        using var pixels = train.ReadAll().index_select(0, kept);
        using var labels = train.Labels.index_select(0, kept);
        using var testPixels = test.ReadAll();
        using var testRows = tensor(Enumerable.Range(0, 10).Select(c => (long)(10 * c)).ToArray());
        return (new ImageTensorDataset(cat([pixels, pixels[5].unsqueeze(0)], 0), cat([labels, labels[5].unsqueeze(0)], 0), train.ClassNames),
            new ImageTensorDataset(cat([testPixels.index_select(0, testRows), pixels[7].unsqueeze(0)], 0),
                cat([test.Labels.index_select(0, testRows), labels[7].unsqueeze(0)], 0), test.ClassNames));
    }

    [Fact]
    public void A_run_names_the_copy_in_its_training_images_and_the_test_image_copied_in_them_and_trains_the_same_model()
    {
        var (train, test) = WithCopies();
        using var _ = train;
        using var __ = test;
        var log = new List<string>();

        using var checkedRun = TransferRecipe.Run(Options(), StartingPoint.For(Options()), new TensorImageSource(train), null,
            new TrainingContext { TestImages = new TensorImageSource(test), Log = log.Add });
        using var unchecked_ = TransferRecipe.Run(Options(o => o.CheckData = false), StartingPoint.For(Options()), new TensorImageSource(train), null);

        var health = checkedRun.Health;
        Assert.True(health.Checked);
        Assert.Equal((101, 11, 0), (health.TrainImages, health.TestImages, health.Excluded));
        var duplicate = Assert.Single(health.Issues, i => i.Kind == DataIssueKind.Duplicate);
        Assert.Equal((100L, 5L), (duplicate.Row, duplicate.Other!.Value));
        var leak = Assert.Single(health.Issues, i => i.Kind == DataIssueKind.Leak);
        Assert.Equal((10L, 7L), (leak.Row, leak.Other!.Value));
        Assert.Contains(log, l => l.StartsWith("data checks: ") && l.Contains("1 duplicate(s)"));
        Assert.False(unchecked_.Health.Checked);
        // the checks change nothing the run decides: the same classifier, bit for bit
        var (a, b) = (checkedRun.Model.state_dict(), unchecked_.Model.state_dict());
        Assert.True(a["fc.weight"].allclose(b["fc.weight"], rtol: 0, atol: 0) && a["fc.bias"].allclose(b["fc.bias"], rtol: 0, atol: 0));
    }

    [Fact]
    public void Exclude_flagged_trains_without_the_flagged_images_and_says_how_many()
    {
        var (train, test) = WithCopies();
        using var _ = train;
        using var __ = test;
        var log = new List<string>();
        var options = Options(o => o.ExcludeFlagged = true);

        using var result = TransferRecipe.Run(options, StartingPoint.For(options), new TensorImageSource(train), null, new TrainingContext { Log = log.Add });

        var health = result.Health;
        int flagged = health.Excludable().Count;
        Assert.Contains(100L, health.Excludable()); // the copy, not its original
        Assert.DoesNotContain(5L, health.Excludable());
        Assert.Equal(flagged, health.Excluded);
        Assert.Contains($"{flagged} flagged image(s) left out of training", health.Describe());
        Assert.Contains(log, l => l.StartsWith($"classifier refitted on all {101 - flagged} labelled images"));
    }

    [Fact]
    public void A_run_from_random_weights_does_not_check_and_refuses_to_exclude_on_checks_it_cannot_make()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 10);
        var options = new FineTuneOptions { Architecture = "tiny", Weights = PretrainedCatalog.Scratch, ImageSize = 16, Strategy = FineTuneStrategy.HeadOnly, Seed = 3 };
        var log = new List<string>();

        using var result = TransferRecipe.Run(options, StartingPoint.For(options), new TensorImageSource(data), null, new TrainingContext { Log = log.Add });

        Assert.False(result.Health.Checked);
        Assert.Contains(log, l => l.StartsWith("data checks skipped"));
        options.ExcludeFlagged = true;
        var refused = Assert.Throws<ArgumentException>(() => TransferRecipe.Run(options, StartingPoint.For(options), new TensorImageSource(data), null));
        Assert.Equal(nameof(FineTuneOptions.ExcludeFlagged), refused.ParamName);
        options.CheckData = false;
        Assert.Equal(nameof(FineTuneOptions.ExcludeFlagged), Assert.Throws<ArgumentException>(options.Validate).ParamName);
    }

    [Fact]
    public void A_checkpoint_keeps_the_rows_a_run_left_out()
    {
        using var temp = new TempDirectory();
        new TrainingCheckpoint { ExcludedRows = [3, 17, 40] }.Save(temp.File("state.bin"));

        Assert.Equal(new long[] { 3, 17, 40 }, TrainingCheckpoint.Load(temp.File("state.bin")).ExcludedRows);
    }
}

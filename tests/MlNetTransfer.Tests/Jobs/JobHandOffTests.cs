using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>`job export` → PyTorch's torchrun (Debian's python3-torch, gloo on the CPU) → `job import`: the recipe
/// leaves as a folder, trains under DDP, and comes back as the same regular ML.NET model `train` writes.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class JobHandOffTests : CliSandbox
{
    string Job => Path.Combine(_temp.Path, "job");

    [Fact]
    public void A_tiny_job_on_data_samples_trained_by_torchrun_on_two_processes_comes_back_as_a_model_plain_MLNet_serves()
    {
        var samples = Path.Combine(TestPaths.DataSamples, "fashion-mnist");
        var (exit, output) = Run($"job export --data {samples}/train --test {samples}/test {Fast} --epochs 2 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var recipe = JobFiles.ReadRecipe(Job);
        Assert.Equal(10, recipe.Classes.Count);
        Assert.Equal("RetrainAll", recipe.Strategy);
        Assert.Equal(16, recipe.ImageSize);
        Assert.All(recipe.Groups, g => Assert.True(g.Trainable && g.RateScale == 1));
        var images = JobFiles.ReadImages(Job);
        Assert.Equal(320, images.Count(i => i.Split == JobImage.Train)); // data-samples' 400, 20 % of each class held out to validate
        Assert.Equal(80, images.Count(i => i.Split == JobImage.Validation));
        Assert.Equal(100, images.Count(i => i.Split == JobImage.Test)); // --test's, relative to the training root
        Assert.All(images, i => Assert.True(File.Exists(Path.Combine(recipe.ImageRoot, i.Path)), i.Path));

        var (ran, log) = PyTorchProcess.Torchrun(Job, 2);
        Assert.True(ran == 0, log);
        double flipLoss, averagedLoss;
        using (var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(Job, JobFiles.History))))
        {
            Assert.Equal(2, history.RootElement.GetProperty("world_size").GetInt32());
            Assert.Equal(2, history.RootElement.GetProperty("epochs").GetArrayLength());
            // the test-time flip measured on all 80 validation images across both processes
            var flip = history.RootElement.GetProperty("test_time_flip");
            (flipLoss, averagedLoss) = (flip.GetProperty("loss").GetDouble(), flip.GetProperty("averaged_loss").GetDouble());
            Assert.Equal(0, flip.GetProperty("accuracy").GetDouble() * 80 % 1, 6);
            Assert.Equal(0, flip.GetProperty("averaged_accuracy").GetDouble() * 80 % 1, 6);
        }

        (exit, output) = Run($"job import {Job} --out {Out}");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("agree with PyTorch's", output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.Equal(2, metrics.RootElement.GetProperty("training").GetProperty("history").GetArrayLength());
        Assert.Equal(recipe.BatchSize, metrics.RootElement.GetProperty("training").GetProperty("batchSize").GetInt32()); // the job's, per process
        var decided = metrics.RootElement.GetProperty("training").GetProperty("testTimeFlip"); // import decides by the engine's rule
        Assert.Equal(averagedLoss < flipLoss, decided.GetProperty("applied").GetBoolean());
        Assert.Equal(flipLoss, decided.GetProperty("validationLoss").GetDouble(), 9);
        var metadata = MlNet.TransferModelFile.ReadMetadata(Path.Combine(Out, TrainCommand.ModelFile));
        Assert.Equal(decided.GetProperty("applied").GetBoolean(), metadata.TestTimeFlip);
        Assert.True(File.Exists(Path.Combine(Out, ReportWriter.ConsumeFile)));
        // as train's model does, the imported one says which images are unfamiliar, learnt from the job's 320 training
        // images with the limit measured on its 80 validation images
        Assert.Contains("training images at 16 px: 320 decoded", output);
        Assert.Contains("validation images at 16 px: 80 decoded", output);
        Assert.Contains("nearest of 320 training images", metadata.Unfamiliar);
        Assert.Contains("past the validation images' median distance", metadata.Unfamiliar);
        var unfamiliar = metrics.RootElement.GetProperty("test").GetProperty("unfamiliar");
        Assert.Equal(100, unfamiliar.GetProperty("images").GetInt32());
        Assert.InRange(unfamiliar.GetProperty("flagged").GetInt32(), 0, 20); // the job's own kind of images: few flagged

        // the zip is served by ML.NET alone, with the accuracy the import reported
        using var temp = new TempDirectory();
        var test = images.Where(i => i.Split == JobImage.Test).Select(i => (i.Path, i.Label));
        using var probe = ConsumerProbeProcess.Score(Path.Combine(Out, TrainCommand.ModelFile), recipe.ImageRoot, test, temp, out _);
        Assert.DoesNotContain(probe.RootElement.GetProperty("assemblies").EnumerateArray(), a => a.GetString()!.StartsWith("TorchSharp"));
        Assert.Equal(metrics.RootElement.GetProperty("test").GetProperty("microAccuracy").GetDouble(),
            probe.RootElement.GetProperty("MicroAccuracy").GetDouble(), 6);
    }

    [Fact]
    public void The_embedded_resnet_goes_out_and_comes_back_unchanged_when_the_job_trains_no_epoch()
    {
        var (exit, output) = Run($"job export --data {Train} --test {Test} --strategy WholeNetwork --image-size 32 --test-time-flip on --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var recipe = JobFiles.ReadRecipe(Job);
        Assert.Equal(FineTuneOptions.Defaults.Architecture, recipe.Architecture);
        Assert.True(recipe.TestTimeFlip); // a given setting travels with the job and is kept on import
        Assert.Equal(JobFiles.MeanImage, recipe.Preprocessing.MeanImage);
        Assert.Equal("bgr", recipe.Preprocessing.ChannelOrder);
        Assert.Equal(recipe.Groups.Select(g => g.Name), ["stem", "layer1", "layer2", "layer3", "layer4", "head"]);
        Assert.True(recipe.Groups[0].RateScale < recipe.Groups[4].RateScale && recipe.Groups[5].RateScale == 1); // discriminative rates
        Assert.Contains("bn1", recipe.FrozenBatchnorm); // pretrained statistics kept

        var (ran, log) = PyTorchProcess.Script(Job, "--epochs", "0");
        Assert.True(ran == 0, log);
        var start = StateDictFile.Read(Path.Combine(Job, JobFiles.StartWeights));
        var trained = StateDictFile.Read(Path.Combine(Job, JobFiles.Trained));
        Assert.Equal(start.Keys.Order(), trained.Keys.Order());
        Assert.All(start, kv => Assert.True(kv.Value.shape.SequenceEqual(trained[kv.Key].shape) && kv.Value.eq(trained[kv.Key]).all().item<bool>(), kv.Key)); // weights in = weights out

        using var result = JobImport.Load(Job);
        Assert.Equal((true, "on: as the options say"), (result.Flip.Applied, result.Flip.Reason));
        var check = StateDictFile.Read(Path.Combine(Job, JobFiles.Check));
        using (no_grad())
        {
            using var logits = result.Model.call(check["input"]);
            Assert.True(logits.allclose(check["logits"], rtol: 0, atol: 1e-4), $"max difference {(logits - check["logits"]).abs().max().item<float>()}");
        }
        (exit, output) = Run($"job import {Job} --no-unfamiliar --out {Out}");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.DoesNotContain("images at 32 px", output); // no training image read
        Assert.Null(MlNet.TransferModelFile.ReadMetadata(Path.Combine(Out, TrainCommand.ModelFile)).Unfamiliar);
    }

    [Theory]
    [InlineData("alexnet")]
    [InlineData("resnet18")]
    [InlineData("resnet50")]
    [InlineData("mobilenet_v2")] // vgg16 and resnet34 too, by hand: the same names and the same logits
    [InlineData("resnet18_cntk_multilevel")] // the classifier on three stages, rebuilt by the job's script
    public void Torchvisions_networks_trained_by_the_job_compute_in_TorchSharp_what_they_computed_in_PyTorch(string architecture)
    {
        var (exit, output) = Run($"job export --data {Train} --test {Test} --arch {architecture} --weights scratch --strategy WholeNetwork --image-size 64 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var (ran, log) = PyTorchProcess.Script(Job, "--epochs", "1");
        Assert.True(ran == 0, log);
        // the import refuses logits that differ (each architecture's unfamiliar flag: OnnxExportTests)
        (exit, output) = Run($"job import {Job} --no-unfamiliar --out {Out}");
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("agree with PyTorch's", output);
    }

    [Fact]
    public void A_job_stopped_between_epochs_and_started_again_ends_with_the_weights_of_an_uninterrupted_run_and_no_checkpoint_left()
    {
        var (exit, output) = Run($"job export --data {Train} --test {Test} {Fast} --epochs 3 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var uninterrupted = Path.Combine(_temp.Path, "uninterrupted");
        var (ran, log) = PyTorchProcess.Script(Job, "--out", uninterrupted);
        Assert.True(ran == 0, log);

        (ran, log) = PyTorchProcess.Script(Job, "--epochs-per-run", "1");
        Assert.True(ran == 0, log);
        Assert.Contains("stopped after 1 epoch(s) this run", log);
        Assert.False(File.Exists(Path.Combine(Job, JobFiles.Trained)));
        Assert.False(File.Exists(Path.Combine(uninterrupted, JobFiles.Checkpoint))); // a finished run's results replace it
        Assert.True(File.Exists(Path.Combine(Job, JobFiles.Checkpoint)));
        (ran, log) = PyTorchProcess.Script(Job);
        Assert.True(ran == 0, log);
        Assert.Contains("resuming after epoch 1", log);
        Assert.False(File.Exists(Path.Combine(Job, JobFiles.Checkpoint)));

        var expected = StateDictFile.Read(Path.Combine(uninterrupted, JobFiles.Trained));
        var resumed = StateDictFile.Read(Path.Combine(Job, JobFiles.Trained));
        Assert.All(expected, kv => Assert.True(kv.Value.eq(resumed[kv.Key]).all().item<bool>(), kv.Key));
        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(Job, JobFiles.History)));
        Assert.Equal(3, history.RootElement.GetProperty("epochs").GetArrayLength());
    }

    [Fact]
    public void The_catalog_call_serves_the_job_in_the_pipelines_own_key_order_and_refuses_other_classes()
    {
        var (exit, output) = Run($"job export --data {Train} --test {Test} {Fast} --epochs 1 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var (ran, log) = PyTorchProcess.Script(Job);
        Assert.True(ran == 0, log);
        var recipe = JobFiles.ReadRecipe(Job);
        var rows = JobFiles.ReadImages(Job).Where(i => i.Split == JobImage.Test).Select(i => new ImageRow { ImagePath = i.Path, Label = i.Label }).ToList();

        float[][] Scores(IEnumerable<string> keyOrder, out string[] predicted)
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var keys = ml.Data.LoadFromEnumerable(keyOrder.Select(c => new KeyRow { Label = c }));
            using var model = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
                .Append(ml.Transforms.LoadImages("Image", recipe.ImageRoot, nameof(ImageRow.ImagePath)))
                .Append(ml.TransferTrainFromJob(Job))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
                .Fit(data);
            var scored = model.Transform(data);
            Assert.Equal(BooleanDataViewType.Instance, scored.Schema["Unfamiliar"].Type); // learnt from the rows it was fitted on
            predicted = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).ToArray();
            return scored.GetColumn<float[]>("Score").ToArray();
        }

        var inJobOrder = Scores(recipe.Classes, out var labels);
        var reversed = Scores(recipe.Classes.Reverse(), out var reversedLabels);
        int c = recipe.Classes.Count;
        for (int i = 0; i < rows.Count; i++)
            for (int k = 0; k < c; k++)
                Assert.Equal(inJobOrder[i][k], reversed[i][c - 1 - k], 5); // key k of the reversed order is the job's class c-1-k
        Assert.Equal(labels, reversedLabels);

        var error = Assert.Throws<ArgumentException>(() => Scores(["Bag", "Sneaker", "Sandal"], out _));
        Assert.Contains("Label column 'Label' has the classes", error.Message);
    }

    [Fact]
    public void Import_names_what_is_wrong_with_the_job_folder()
    {
        var (exit, output) = Run($"job import {Train} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains("not a job folder", output);

        var file = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        (exit, output) = Run($"job import {file} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit); // was 2, data not found
        Assert.Contains("is a file, not a job folder", output);

        (exit, output) = Run($"job export --data {Train} --test {Test} {Fast} --epochs 1 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        (exit, output) = Run($"job import {Job} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains("trained.safetensors is missing: run the job first", output);

        // every number of recipe.json is checked as the CLI checks its option: an image_size of 20000 ate 6 GB
        var recipePath = Path.Combine(Job, JobRecipe.FileName);
        var original = File.ReadAllText(recipePath);
        foreach (var (field, value, mention) in new[] { ("image_size", "20000", "image_size must be between"), ("epochs", "0", "epochs must be at least 1"),
                     ("learning_rate", "-1", "optimization.learning_rate must be a positive number"), ("check_batch", "100000", "check_batch must be between 1 and 1024") })
        {
            File.WriteAllText(recipePath, System.Text.RegularExpressions.Regex.Replace(original, $"\"{field}\": [^,\n]+", $"\"{field}\": {value}"));
            (exit, output) = Run($"job import {Job} --out {Out}");
            Assert.True(exit == ExitCodes.BadModel, $"{field} {value}: exit {exit}\n{output}");
            Assert.Contains(mention, output);
        }
        File.WriteAllText(recipePath, original);

        var (ran, log) = PyTorchProcess.Script(Job);
        Assert.True(ran == 0, log);
        // the job's images gone from where it lists them: the unfamiliar flag, which learns from them, says so; without it the import goes on
        var moved = Path.Combine(_temp.Path, "moved");
        Directory.CreateDirectory(moved);
        (exit, output) = Run($"job import {Job} --image-root {moved} --test {Test} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains("the job's training images, read to learn which images the model should call unfamiliar", output);
        (exit, output) = Run($"job import {Job} --image-root {moved} --test {Test} --no-unfamiliar --out {Out}");
        Assert.True(exit == ExitCodes.Success, output);
        Directory.Delete(Out, recursive: true);
        // logits that are not what these weights compute: refused, and no model is written
        var check = StateDictFile.Read(Path.Combine(Job, JobFiles.Check));
        SafetensorsWriter.Write(Path.Combine(Job, JobFiles.Check), new Dictionary<string, Tensor> { ["input"] = check["input"], ["logits"] = check["logits"].Plus(0.5) });
        (exit, output) = Run($"job import {Job} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains("logits differ from the job's", output);
        Assert.False(File.Exists(Path.Combine(Out, TrainCommand.ModelFile)));

        File.WriteAllBytes(Path.Combine(Job, JobFiles.Trained), [1, 2, 3]); // truncated
        (exit, output) = Run($"job import {Job} --out {Out}");
        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains(JobFiles.Trained + ": not a safetensors file", output);
    }

    [Fact]
    public void An_interrupted_export_writes_nothing_and_leaves_an_earlier_job_as_it_was()
    {
        var (exit, output) = Run($"job export --data {Train} --test {Test} {Fast} --epochs 1 --out {Job}");
        Assert.True(exit == ExitCodes.Success, output);
        var before = Directory.GetFiles(Job).ToDictionary(f => f, File.ReadAllBytes);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        (exit, output) = RunStoppedBy(cancelled.Token, $"job export --data {Train} --test {Test} {Fast} --epochs 3 --out {Job}");

        Assert.Equal(ExitCodes.Interrupted, exit);
        Assert.Contains("interrupted; nothing to keep", output);
        Assert.Contains("job:", output); // the command ran up to the recipe before it stopped
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(Job).Order());
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    [Fact]
    public void Export_leaves_out_an_image_it_cannot_decode_and_names_it_so_the_job_does_not_stop_on_it()
    {
        // a header that reads as a BMP's, pixels said to lie 4 GB in: the header check passes it, the decode does not
        File.WriteAllBytes(Path.Combine(Train, "Bag", "skips-4gb.bmp"), HostileImages.Bmp(16, 16, pixelsAt: 0xFF80_0036));

        var (exit, output) = Run($"job export --data {Train} --test {Test} {Fast} --epochs 1 --out {Job}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("left out of the job: 1 image(s) that could not be decoded", output.ReplaceLineEndings(" "));
        var images = JobFiles.ReadImages(Job);
        Assert.DoesNotContain(images, i => i.Path.EndsWith("skips-4gb.bmp"));
        Assert.Equal(Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Length, images.Count(i => i.Split != JobImage.Test));
        Assert.Contains("skips-4gb.bmp: not a readable image", File.ReadAllText(Path.Combine(Job, JobExportCommand.SkippedFile)));
    }

    [Fact]
    public void Export_refuses_a_strategy_that_leaves_nothing_to_train()
    {
        var (exit, output) = Run($"job export --data {Train} --strategy HeadOnly --out {Job}");
        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("--strategy HeadOnly", output);
        (exit, output) = Run($"job export --data {Train} --test {Test} --image-size 32 --out {Job}"); // Auto: 8 images per class
        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("Auto chose the classifier alone", output);
        Assert.False(File.Exists(Path.Combine(Job, JobRecipe.FileName)));
    }

    [Fact]
    public void Export_refuses_exclude_flagged_before_any_work_the_job_trains_on_the_rows_it_lists()
    {
        var (exit, output) = Run($"job export --data {Train} --strategy WholeNetwork --exclude-flagged --out {Job}");

        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.StartsWith("error: --exclude-flagged: a job exported for torchrun trains on the rows it lists", output.Trim());
        Assert.False(File.Exists(Path.Combine(Job, JobRecipe.FileName)));
    }

    sealed class KeyRow
    {
        public string Label { get; set; } = "";
    }
}

using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.MlNet;
using SkiaSharp;
using Spectre.Console;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>The mlnet-transfer commands driven in-process: exit codes, files written and their contents.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliTests : CliSandbox
{
    [Fact]
    public void Train_on_a_folder_writes_the_model_and_the_whole_report()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 2 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("epoch 1/2", output); // plain lines: the test console is not interactive
        Assert.Contains("epoch 2/2", output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        var test = metrics.RootElement.GetProperty("test");
        Assert.Equal(9, test.GetProperty("images").GetInt32());
        Assert.InRange(test.GetProperty("microAccuracy").GetDouble(), 0, 1);
        Assert.Equal(3, test.GetProperty("perClass").GetArrayLength());
        Assert.Equal(9, test.GetProperty("confusionMatrix").EnumerateArray().SelectMany(r => r.EnumerateArray()).Sum(v => v.GetInt32()));
        var training = metrics.RootElement.GetProperty("training");
        Assert.Equal(2, training.GetProperty("history").GetArrayLength());
        Assert.Equal("RetrainAll", training.GetProperty("strategy").GetString());
        Assert.Equal(32, training.GetProperty("batchSize").GetInt32()); // none given: the CPU's default, as trained
        Assert.True(metrics.RootElement.GetProperty("timings").GetProperty("trainSeconds").GetDouble() > 0);
        Assert.Equal($"mlnet-transfer {Runtime.RuntimeReport.ProductVersion}", metrics.RootElement.GetProperty("producedBy").GetString());
        Assert.DoesNotContain(PropertyNames(metrics.RootElement), n => char.IsUpper(n[0]) && !Classes.Contains(n)); // camelCase at every depth
        // the test-time flip measured on the validation split and decided by its rule; the saved model says which
        var flip = training.GetProperty("testTimeFlip");
        double loss = flip.GetProperty("validationLoss").GetDouble(), averagedLoss = flip.GetProperty("averagedValidationLoss").GetDouble();
        double accuracy = flip.GetProperty("validationAccuracy").GetDouble(), averagedAccuracy = flip.GetProperty("averagedValidationAccuracy").GetDouble();
        Assert.Equal(averagedLoss < loss, flip.GetProperty("applied").GetBoolean());
        Assert.InRange(accuracy, 0, 1);
        Assert.InRange(averagedAccuracy, 0, 1);
        Assert.Equal(flip.GetProperty("applied").GetBoolean(), TransferModelFile.ReadMetadata(Path.Combine(Out, "model.zip")).TestTimeFlip);
        Assert.Contains("test-time flip", output);
        foreach (var png in new[] { ReportWriter.CurvesFile, ReportWriter.ConfusionFile })
        {
            using var bitmap = SKBitmap.Decode(Path.Combine(Out, png));
            Assert.True(bitmap.Width > 300 && bitmap.Height > 300, png);
        }
        var html = File.ReadAllText(Path.Combine(Out, ReportWriter.HtmlFile));
        Assert.Contains("16 px, batches of 32", html);
        Assert.Contains("test-time flip", html);
        int heatmaps = html.Split("alt=\"where the model looked in ").Length - 1; // Grad-CAM: each top loss, and each class's surest right image
        Assert.InRange(heatmaps, 9, 9 + 3);
        Assert.Equal(3 + 9, html.Split("data:image/").Length - 1 - heatmaps); // three charts (curves, confusion, reliability) and the top losses (all 9 test images)
        // a temperature fitted on the 6 validation images is too uncertain to apply: said, and the model serves T = 1
        // (ReportTests and TransferTrainBehaviourTests hold an applied one)
        var calibration = metrics.RootElement.GetProperty("calibration");
        Assert.False(calibration.GetProperty("applied").GetBoolean());
        Assert.Contains("fitted on 6 validation images", calibration.GetProperty("reason").GetString());
        Assert.Contains("too uncertain to apply", output);
        Assert.Equal(1.0, TransferModelFile.ReadMetadata(Path.Combine(Out, "model.zip")).Temperature);
        Assert.Equal(1.0, calibration.GetProperty("temperature").GetDouble());
        Assert.Equal(9, calibration.GetProperty("images").GetInt32());
        Assert.True(File.Exists(Path.Combine(Out, ReportWriter.ReliabilityFile)));
        Assert.All(Classes, c => Assert.Contains(c, File.ReadAllText(Path.Combine(Out, ReportWriter.ConsumeFile))));
        Assert.Equal(Classes, TransferModelFile.ReadMetadata(Path.Combine(Out, "model.zip")).ClassNames);
        Assert.False(Directory.Exists(Path.Combine(Out, WebApiCode.Folder))); // only when asked for
    }

    [Fact]
    public void Train_with_web_api_writes_the_app_for_the_models_side_next_to_the_model()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} --web-api {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("web API written to", output);
        var app = Path.Combine(Out, WebApiCode.Folder);
        Assert.Equal(WebApiCode.Files.Order(), Directory.GetFiles(app).Select(f => Path.GetFileName(f)!).Order());
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(app, "appsettings.json")));
        Assert.Equal("../model.zip", settings.RootElement.GetProperty("Model").GetProperty("Path").GetString());
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(app, "../model.zip"))));
        // the app decodes for the side the model trained at, which it reads from the model (a reloaded one brings its own)
        Assert.False(settings.RootElement.GetProperty("Model").TryGetProperty("ImageSize", out _));
        using var served = new WebApi.ImageClassifier(Path.Combine(Out, "model.zip"), new WebApi.ModelSettings(), WebApi.DecodeBudget.ForMemory(1L << 30));
        Assert.Equal(16, served.ImageSize);
    }

    [Fact]
    public void Train_from_a_filename_target_csv_with_paths_relative_to_the_csv()
    {
        var csv = Path.Combine(_temp.Path, "train.csv");
        File.WriteAllLines(csv, ["filename,target", .. Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetRelativePath(_temp.Path, f)},{Path.GetFileName(Path.GetDirectoryName(f))}")]);

        var (exit, output) = Run($"train --data {csv} --epochs 1 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("testing on 6 (6 of 24 images (25 %) of", output); // no --test: 2 of each class's 8 held out, and said as it is
        Assert.True(File.Exists(Path.Combine(Out, "model.zip")));
    }

    [Fact]
    public void Unreadable_and_missing_images_are_skipped_and_reported_by_name_or_fail_with_strict()
    {
        File.WriteAllText(Path.Combine(Train, "Bag", "broken.png"), "not a png");
        File.WriteAllText(Path.Combine(Train, "Bag", "notes.txt"), "not an image, and not called one");
        var csv = Path.Combine(_temp.Path, "with-missing.csv");
        File.WriteAllLines(csv, ["filename,target", "train/Bag/gone.png,Bag",
            .. Directory.GetFiles(Train, "t*.png", SearchOption.AllDirectories).Select(f => $"{Path.GetRelativePath(_temp.Path, f)},{Path.GetFileName(Path.GetDirectoryName(f))}")]);

        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (csvExit, csvOutput) = Run($"train --data {csv} --test {Test} --epochs 1 --out {Out}-csv {Fast}");
        var (strictExit, strictOutput) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-strict --strict {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("skipped 1 image(s)", output);
        Assert.Contains("broken.png: not a readable image", output);
        Assert.Contains("files that are not images by their extension (1 .txt)", output); // left alone, but said
        Assert.Contains("broken.png", File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.True(csvExit == ExitCodes.Success, csvOutput);
        Assert.Contains("gone.png: missing", csvOutput);
        Assert.Equal(ExitCodes.UnreadableImages, strictExit);
        Assert.Contains("broken.png", strictOutput);
        Assert.False(Directory.Exists(Out + "-strict") && File.Exists(Path.Combine(Out + "-strict", "model.zip")));
    }

    [Theory]
    [InlineData("--epochs 0", "--epochs")]
    [InlineData("--lr -1", "--lr")]
    [InlineData("--batch-size 0", "--batch-size")]
    [InlineData("--arch alexnet --weights scratch --image-size 16", "--image-size: must be between 63 (alexnet's smallest input)")]
    [InlineData("--time-budget soon", "--time-budget must be a duration")]
    [InlineData("--weights no-such-weights.pth", "--weights: 'no-such-weights.pth' is neither an embedded weight name")]
    [InlineData("--arch alexnet", "--weights: alexnet has no embedded pretrained weights")]
    [InlineData("--device cuda:99", "CUDA was requested but")] // no machine has 100 GPUs: refused before the data too
    [InlineData("--device tpu", "--device must be auto, cpu, cuda or cuda:N")]
    [InlineData("--test-time-flip maybe", "--test-time-flip must be auto, on or off, not 'maybe'")]
    [InlineData("--lr NaN", "--lr: must be a positive number")] // was a System.Text.Json message: the record was kept before it was checked
    [InlineData("--lr Infinity", "--lr: must be a positive number")]
    [InlineData("--weight-decay NaN", "--weight-decay: must be 0 or more")]
    [InlineData("--label-smoothing NaN", "--label-smoothing: must be in [0, 1)")]
    [InlineData("--time-budget 10000000000000h", "--time-budget must be a duration")] // was an OverflowException, exit 1
    [InlineData("--max-image-pixels 0", "--max-image-pixels")]
    [InlineData("--checkpoint-every sometimes", "--checkpoint-every must be a duration such as 90s or 10m, 0 for every epoch, or off, not 'sometimes'")]
    [InlineData("--checkpoint-every -5m", "--checkpoint-every must be a duration")]
    public void Bad_option_values_exit_8_before_any_work_and_name_the_option(string options, string mention)
    {
        var (exit, output) = Run($"train --data {Train} --out {Out} {options}");

        Assert.True(exit == ExitCodes.BadOption, $"exit {exit}: {output}");
        Assert.Contains(mention, output);
        Assert.DoesNotContain("training on", output); // refused before the data was even listed
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public void Bad_inputs_fail_with_distinct_exit_codes_and_messages_that_name_them()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_temp.Path, "empty")).FullName;
        var oneClass = Directory.CreateDirectory(Path.Combine(_temp.Path, "one", "Bag")).FullName;
        File.Copy(Directory.GetFiles(Path.Combine(Train, "Bag"))[0], Path.Combine(oneClass, "a.png"));
        var badCsv = Path.Combine(_temp.Path, "bad.csv");
        File.WriteAllLines(badCsv, ["image,label", "a.png,Bag"]);

        var cases = new[]
        {
            (Run($"train --data {Path.Combine(_temp.Path, "nowhere")} {Fast}"), ExitCodes.DataNotFound, "nowhere"),
            (Run($"train --data {empty} {Fast}"), ExitCodes.EmptyData, "empty"),
            (Run($"train --data {Path.GetDirectoryName(oneClass)} {Fast}"), ExitCodes.SingleClass, "only one class"),
            (Run($"train --data {badCsv} {Fast}"), ExitCodes.UnreadableCsv, "filename"),
            (Run($"train --data {Train} --arch resnet19"), ExitCodes.BadOption, "resnet19"),
            (Run($"evaluate --model {Path.Combine(_temp.Path, "none.zip")} --data {Test}"), ExitCodes.BadModel, "none.zip"),
        };

        foreach (var ((exit, output), expected, mention) in cases)
        {
            Assert.True(expected == exit, $"expected exit {expected}, got {exit}: {output}");
            Assert.Contains(mention, output);
        }
        Assert.Equal(cases.Length, cases.Select(c => c.Item2).Distinct().Count());
        var (_, badCsvOutput) = Run($"train --data {badCsv} {Fast}"); // 'label' is ML.NET's name; 'image' is no default
        Assert.Contains("has no image column ('filename' or 'ImagePath'); name it: --image-column image.", badCsvOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        var (unknown, unknownOutput) = Run("train --no-such-option");
        Assert.NotEqual(ExitCodes.Success, unknown);
        Assert.DoesNotContain(unknown, cases.Select(c => c.Item2));
        Assert.Contains("no-such-option", unknownOutput);
    }

    [Fact]
    public void Interrupted_training_keeps_a_checkpoint_and_resume_ends_with_the_uninterrupted_model()
    {
        var arguments = $"train --data {Train} --test {Test} --epochs 3 {Fast}";
        var (whole, wholeOutput) = Run($"{arguments} --out {Out}-whole");
        Assert.True(whole == ExitCodes.Success, wholeOutput);

        // Ctrl+C as epoch 1 is reported: training stops after the batch in progress, in epoch 2
        using var interrupted = new CancellationTokenSource();
        var console = new CancellingConsole(new TestConsole().Width(250), "epoch 1/3", interrupted);
        int exit = RunOn(console, $"{arguments} --out {Out}", interrupted.Token);

        Assert.True(exit == ExitCodes.Interrupted, console.Output);
        Assert.Contains("--resume", console.Output);
        Assert.True(File.Exists(Path.Combine(Out, "checkpoint.zip")) && File.Exists(Path.Combine(Out, "checkpoint.state")));
        Assert.False(File.Exists(Path.Combine(Out, "model.zip")));

        // options that train, given again, would change nothing: refused, the checkpoint kept
        var (changed, changedOutput) = Run($"train --resume --out {Out} --epochs 5 --lr=0.1");
        Assert.Equal(ExitCodes.BadOption, changed);
        Assert.Contains("--epochs, --lr: --resume continues the interrupted run with the options it started with", changedOutput.ReplaceLineEndings(""));
        Assert.True(File.Exists(Path.Combine(Out, "checkpoint.zip")));

        var (resumed, resumedOutput) = Run($"train --resume --out {Out}");

        Assert.True(resumed == ExitCodes.Success, resumedOutput);
        Assert.Contains("resuming RetrainAll at 16 px from epoch 2", resumedOutput);
        Assert.Contains("epoch 3/3", resumedOutput);
        Assert.True(File.Exists(Path.Combine(Out, "model.zip")));
        Assert.False(File.Exists(Path.Combine(Out, "checkpoint.zip")));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine($"{Out}-whole", ReportWriter.MetricsFile)));
        using var actual = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.Equal(expected.RootElement.GetProperty("test").GetProperty("logLoss").GetDouble(),
            actual.RootElement.GetProperty("test").GetProperty("logLoss").GetDouble(), 5);
    }

    [Fact]
    public void A_resume_on_other_images_than_the_interrupted_run_listed_is_refused_and_keeps_the_checkpoint()
    {
        using var interrupted = new CancellationTokenSource();
        var console = new CancellingConsole(new TestConsole().Width(250), "epoch 1/3", interrupted);
        Assert.Equal(ExitCodes.Interrupted, RunOn(console, $"train --data {Train} --test {Test} --epochs 3 --out {Out} {Fast}", interrupted.Token));
        var removed = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        var kept = Path.Combine(_temp.Path, "kept.png");
        File.Move(removed, kept);

        var (exit, output) = Run($"train --resume --out {Out}");
        File.Move(kept, removed);
        var (again, againOutput) = Run($"train --resume --out {Out}");

        // the held-out split, the validation split and each epoch's order follow from the list of images
        Assert.True(exit == ExitCodes.BadModel, output);
        Assert.Contains("the images differ from those the interrupted run trained on (then 24 images, now 23 images", output);
        Assert.DoesNotContain("resuming", output);
        Assert.True(again == ExitCodes.Success, againOutput); // the checkpoint was kept: the same images resume
        Assert.Contains("resuming RetrainAll at 16 px from epoch 2", againOutput);
    }

    [Fact]
    public void Interrupted_before_training_keeps_nothing_and_says_so()
    {
        using var interrupted = new CancellationTokenSource();
        interrupted.Cancel(); // Ctrl+C before the first batch

        var (exit, output) = RunStoppedBy(interrupted.Token, $"train --data {Train} --test {Test} --epochs 3 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Interrupted, output);
        Assert.Contains("nothing to keep", output);
        Assert.False(File.Exists(Path.Combine(Out, "checkpoint.zip")));
        Assert.False(File.Exists(Path.Combine(Out, "model.zip")));
    }

    [Fact]
    public void An_out_that_cannot_take_files_is_refused_before_any_training()
    {
        var file = Path.Combine(_temp.Path, "a-file");
        File.WriteAllText(file, "not a folder");

        var (exit, output) = Run($"train --data {Train} --test {Test} --out {file} {Fast}");

        Assert.True(exit == ExitCodes.BadOption, output);
        Assert.Contains($"--out {file}: cannot write there", output);
        Assert.DoesNotContain("training on", output);
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void A_damaged_resume_file_is_a_bad_model_that_names_the_file()
    {
        Directory.CreateDirectory(Out);
        foreach (var name in new[] { "checkpoint.zip", "checkpoint.state" }) File.WriteAllText(Path.Combine(Out, name), "x");
        File.WriteAllText(Path.Combine(Out, "resume.json"), "{ not json");

        var (exit, output) = Run($"train --resume --out {Out}");

        Assert.True(exit == ExitCodes.BadModel, output);
        Assert.Contains("resume.json: not a resume file this version can read", output);
    }

    [Fact]
    public void A_failed_run_leaves_an_existing_model_untouched()
    {
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "model.zip"), "the user's previous model");
        File.WriteAllText(Path.Combine(Train, "Bag", "broken.png"), "not a png");
        File.WriteAllText(Path.Combine(Train, "Bag", "notes.txt"), "not an image, and not called one");

        var (exit, _) = Run($"train --data {Train} --out {Out} --strict {Fast}");

        Assert.Equal(ExitCodes.UnreadableImages, exit);
        Assert.Equal("the user's previous model", File.ReadAllText(Path.Combine(Out, "model.zip")));
        Assert.Empty(Directory.GetFiles(Out, "*.tmp"));
    }

    [Fact]
    public void Evaluate_predict_export_and_models_work_on_a_trained_model()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --test {Test} --epochs 2 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");

        var (evaluateExit, evaluation) = Run($"evaluate --model {model} --data {Test} --json {Path.Combine(Out, "eval.json")}");
        var (predictExit, prediction) = Run($"predict --model {model} --top 2 {Path.Combine(Test, "Bag")}");
        var csv = Path.Combine(Out, "scores.csv");
        var (csvExit, _) = Run($"predict --model {model} --top 1 --csv {csv} {Test}");
        var (exportExit, _) = Run($"export --model {model} --onnx {Path.Combine(Out, "model.onnx")}");
        var (modelsExit, models) = Run("models");
        var list = _temp.File("list.csv"); // a filename,target CSV given to predict: scored, with the command that measures it
        File.WriteAllLines(list, ["filename,target", $"{Path.GetRelativePath(_temp.Path, Directory.GetFiles(Path.Combine(Test, "Bag"))[0])},Bag"]);
        var (listExit, listOutput) = Run($"predict --model {model} {list}");

        Assert.Equal(ExitCodes.Success, evaluateExit);
        Assert.Contains("accuracy", evaluation);
        using var trainMetrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        using var evalMetrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "eval.json")));
        Assert.Equal(trainMetrics.RootElement.GetProperty("test").GetProperty("microAccuracy").GetDouble(),
            evalMetrics.RootElement.GetProperty("microAccuracy").GetDouble(), 6);
        Assert.Equal(ExitCodes.Success, predictExit);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(Test, "Bag")).Count(f => prediction.Contains(Path.GetFileName(f))));
        // --csv: one row per test image, every class's score, the predicted class its argmax; its accuracy is evaluate's
        Assert.Equal(ExitCodes.Success, csvExit);
        var lines = File.ReadAllLines(csv);
        var header = lines[0].Split(',');
        Assert.Equal(["path", "predicted", "unfamiliar"], header[..3]);
        Assert.Equal(Directory.GetDirectories(Test).Select(Path.GetFileName).Order(StringComparer.Ordinal), header[3..].Order(StringComparer.Ordinal));
        var rows = lines[1..].Select(l => l.Split(',')).ToArray();
        Assert.Equal(Directory.GetFiles(Test, "*.png", SearchOption.AllDirectories).Length, rows.Length);
        foreach (var row in rows)
        {
            Assert.Contains(row[2], (string[])["true", "false"]);
            var scores = row[3..].Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(1.0, scores.Sum(), 4);
            Assert.Equal(header[3 + Array.IndexOf(scores, scores.Max())], row[1]);
        }
        double csvAccuracy = rows.Count(r => Path.GetFileName(Path.GetDirectoryName(r[0])) == r[1]) / (double)rows.Length;
        Assert.Equal(evalMetrics.RootElement.GetProperty("microAccuracy").GetDouble(), csvAccuracy, 6);
        Assert.Equal(ExitCodes.Success, exportExit);
        Assert.Equal(TransferModelFile.ReadOnnx(model), File.ReadAllBytes(Path.Combine(Out, "model.onnx")));
        Assert.Equal(ExitCodes.Success, modelsExit);
        Assert.Equal(ExitCodes.Success, listExit);
        Assert.Contains($"evaluate --model {model} --data {list}", listOutput.ReplaceLineEndings(""));
        Assert.Contains("alexnet", models);
        Assert.Contains("resnet18_cntk.imagenet", models);
        Assert.Contains("resnet18_cntk, resnet18_cntk_multilevel", models); // the architectures the embedded weights fit

        // a result file that cannot be written is refused by option before anything is scored: under a file, or a folder
        var blocker = Path.Combine(Out, "eval.json"); // a file: nothing can be created under it, not even by root
        var refused = new[]
        {
            (Run($"predict --model {model} --csv {Path.Combine(blocker, "scores.csv")} {Test}"), "--csv"),
            (Run($"evaluate --model {model} --data {Test} --json {Path.Combine(blocker, "m.json")}"), "--json"),
            (Run($"export --model {model} --onnx {Out}"), "--onnx"),
            (Run($"export --model {model} --onnx {model}"), "--onnx"), // over the model it reads
            (Run($"evaluate --model {model} --data {Test} --json {model}"), "--json"),
        };
        foreach (var ((exit, output), option) in refused)
        {
            Assert.True(exit == ExitCodes.BadOption, $"{option}: exit {exit}: {output}");
            Assert.Contains(option, output);
            Assert.DoesNotContain("accuracy", output);
            Assert.DoesNotContain("Bag", output); // no table of predictions
        }
        Assert.Equal(TransferModelFile.ReadOnnx(model), File.ReadAllBytes(Path.Combine(Out, "model.onnx"))); // the model is intact
    }

    [Theory]
    [InlineData("train --epochs abc", "--epochs: must be a whole number (at most 2147483647), not 'abc'.")]
    [InlineData("train --seed=1.5", "--seed: must be a whole number (at most 2147483647), not '1.5'.")]
    [InlineData("train --lr 1,5", "--lr: must be a number (such as 0.001 or 1e-3), not '1,5'.")]
    [InlineData("train --strategy Foo", "--strategy: must be one of Auto, HeadOnly, InitialLayers, LastLayers, WholeNetwork, RetrainAll, not 'Foo'.")]
    [InlineData("job export --optimizer adam", "--optimizer: must be one of AdamW, Sgd, not 'adam'.")]
    [InlineData("predict --top many", "--top: must be a whole number (at most 2147483647), not 'many'.")]
    [InlineData("predict --top 0 x.png", "--top: must be at least 1, not 0.")] // a value of the right type out of range: the same code
    public void An_option_value_of_the_wrong_type_is_a_bad_option_value_that_names_the_option(string arguments, string message)
    {
        // Spectre alone says "Failed to convert 'abc' to Int32." with its usage code
        var (exit, output) = Run(arguments);

        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains(message, output.ReplaceLineEndings(" ").Replace("  ", " "));
    }

    /// <summary>Every property name in <paramref name="element"/>, at every depth.</summary>
    static IEnumerable<string> PropertyNames(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => PropertyNames(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(PropertyNames),
        _ => [],
    };
}

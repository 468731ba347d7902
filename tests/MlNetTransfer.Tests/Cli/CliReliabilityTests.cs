using System.Diagnostics;
using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.MlNet;
using SkiaSharp;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>Bad input and faults, each with its documented answer: damaged images are skipped and named, CSV is read
/// as RFC 4180, too-small classes are refused before any work, every failure has its exit code, a diverging run keeps
/// the work done before it, and a killed save's files are cleaned up (the temp-folder sweep: CliStaleFilesTests).</summary>
[Collection(TorchRandomCollection.Name)]
public class CliReliabilityTests : CliSandbox
{
    /// <summary>The first 100 bytes of a real PNG: ML.NET's LoadImages decodes it (black rows for the rest).</summary>
    string Truncated(string folder)
    {
        var real = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        var path = Path.Combine(folder, "cut.png");
        File.WriteAllBytes(path, File.ReadAllBytes(real)[..100]);
        return path;
    }

    [Fact]
    public void A_truncated_png_is_unreadable_to_train_evaluate_and_predict()
    {
        var cut = Truncated(Path.Combine(Train, "Bag"));
        File.Copy(cut, Path.Combine(Test, "Bag", "cut.png"));

        var (trainExit, training) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (strictExit, strict) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-strict --strict {Fast}");
        var (evaluateExit, evaluation) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test}");
        var (predictExit, prediction) = Run($"predict --model {Path.Combine(Out, "model.zip")} {cut}");

        // its header reads, so it is listed; the one decode that trains on it finds it cut, and leaves it out
        Assert.True(trainExit == ExitCodes.Success, training);
        Assert.Contains("skipped 1 image(s) of " + Train, training);
        Assert.Contains("Bag/cut.png: truncated", training);
        Assert.Contains("training on 25 images", training);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.Equal(24, metrics.RootElement.GetProperty("training").GetProperty("images").GetInt32()); // 8 per class: not the cut file
        Assert.Contains("cut.png", metrics.RootElement.GetProperty("training").GetProperty("skippedImages")[0].GetString());
        Assert.Equal(9, metrics.RootElement.GetProperty("test").GetProperty("images").GetInt32());
        Assert.Contains("cut.png", metrics.RootElement.GetProperty("test").GetProperty("skippedImages")[0].GetString());
        Assert.Equal(ExitCodes.UnreadableImages, strictExit);
        Assert.Contains("cut.png: truncated", strict);
        Assert.True(evaluateExit == ExitCodes.Success, evaluation);
        Assert.Contains("cut.png: truncated", evaluation);
        Assert.Contains("9 images", evaluation);
        Assert.Equal(ExitCodes.UnreadableImages, predictExit); // its only image could not be read
        Assert.Contains("truncated", prediction);
        Assert.Contains("no image could be read", prediction);
        Assert.DoesNotContain("┌", prediction); // and no empty table
    }

    [Fact]
    public void The_decode_passes_whole_images_and_names_what_is_wrong_with_the_others()
    {
        var whole = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        File.WriteAllText(_temp.File("text.png"), "not a png");
        File.WriteAllBytes(_temp.File("empty.png"), []);
        string? Problem(string path)
        {
            using var decoded = Imaging.ImageDecoder.Decode(path, 64);
            return decoded.Problem;
        }

        Assert.Null(Problem(whole));
        Assert.StartsWith("truncated", Problem(Truncated(_temp.Path)));
        Assert.Null(Imaging.ImageDecoder.ReadHeader(Truncated(_temp.Path)).Problem); // the header alone reads: listed, then skipped
        Assert.StartsWith("not a readable image", Problem(_temp.File("text.png")));
        Assert.Equal("empty file", Problem(_temp.File("empty.png")));
        Assert.Equal("missing", Problem(_temp.File("gone.png")));
    }

    [Fact]
    public void Quoted_csv_fields_may_hold_commas_and_quotes()
    {
        var odd = Path.Combine(_temp.Path, "img,with \"comma\".png");
        File.Copy(Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First(), odd);
        var rows = Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Select(f =>
        {
            var label = Path.GetFileName(Path.GetDirectoryName(f))!;
            return $"{Path.GetRelativePath(_temp.Path, f)},{(label == "Trouser" ? "\"Trouser, long\"" : label)}";
        });
        var csv = _temp.File("quoted.csv");
        File.WriteAllLines(csv, ["filename,target", "\"img,with \"\"comma\"\".png\",Bag", .. rows]);
        var broken = _temp.File("broken.csv");
        File.WriteAllLines(broken, ["filename,target", "\"unclosed.png,Bag"]);

        var (exit, output) = Run($"train --data {csv} --epochs 1 --out {Out} {Fast}");
        var (brokenExit, brokenOutput) = Run($"train --data {broken} --out {Out}-broken {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("training on 19 images in 3 classes", output); // 25 rows (9 Bag), 2 of each class held out
        Assert.Equal(["Bag", "Sneaker", "Trouser, long"], TransferModelFile.ReadMetadata(Path.Combine(Out, "model.zip")).ClassNames.Order());
        Assert.Equal(ExitCodes.UnreadableCsv, brokenExit);
        Assert.Contains("broken.csv, line 2: not valid CSV", brokenOutput);
    }

    [Fact]
    public void A_csv_row_that_repeats_an_image_is_skipped_and_named_and_one_that_gives_it_another_target_is_refused()
    {
        var rows = Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Order()
            .Select(f => (Path: Path.GetRelativePath(_temp.Path, f), Label: Path.GetFileName(Path.GetDirectoryName(f))!)).ToList();
        var repeated = _temp.File("repeated.csv");
        File.WriteAllLines(repeated, ["filename,target", .. rows.Select(r => $"{r.Path},{r.Label}"), $"{rows[0].Path},{rows[0].Label}"]);
        var conflicting = _temp.File("conflicting.csv");
        File.WriteAllLines(conflicting, ["filename,target", .. rows.Select(r => $"{r.Path},{r.Label}"), $"{rows[0].Path},{rows[^1].Label}"]);

        var (exit, output) = Run($"train --data {repeated} --epochs 1 --out {Out} {Fast}");
        var (conflictExit, conflictOutput) = Run($"train --data {conflicting} --out {Out}-conflict {Fast}");

        // kept once: a copy could otherwise train and be held out for the test at the same time
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"listed again on line {rows.Count + 2} (line 2 kept)", output);
        Assert.Contains($"of {rows.Count} images", output);
        Assert.Equal(ExitCodes.UnreadableCsv, conflictExit);
        Assert.Contains($"conflicting.csv, line {rows.Count + 2}: {rows[0].Path} has the target '{rows[^1].Label}' here and '{rows[0].Label}' on line 2", conflictOutput);
        Assert.DoesNotContain("training on", conflictOutput);
    }

    [Fact]
    public void A_csv_written_on_windows_with_backslashes_in_its_paths_reads_the_same_images()
    {
        var rows = Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Order()
            .Select(f => (Path: Path.GetRelativePath(_temp.Path, f), Label: Path.GetFileName(Path.GetDirectoryName(f))!)).ToList();
        var windows = _temp.File("windows.csv");
        File.WriteAllLines(windows, ["filename,target", .. rows.Select(r => $"{r.Path.Replace('/', '\\')},{r.Label}")]);

        var (exit, output) = Run($"train --data {windows} --epochs 1 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"of {rows.Count} images", output);
        Assert.DoesNotContain("unreadable", output);
    }

    [Fact]
    public void A_data_sets_root_with_train_and_test_folders_is_refused_with_the_splits_to_name_instead()
    {
        // data-samples/fashion-mnist is such a root: train/ and test/, each with the ten class folders
        var root = Path.Combine(TestPaths.DataSamples, "fashion-mnist");
        var (exit, output) = Run($"train --data {root} --out {Out} {Fast}");

        Assert.Equal(ExitCodes.EmptyData, exit);
        var said = output.ReplaceLineEndings("");
        Assert.Contains("its folders test, train look like the splits of a data set, each with class folders inside (Ankle_boot, Bag, Coat, Dress, Pullover and 5 more)", said);
        Assert.Contains($"e.g. train --data {Path.Combine(root, "train")} --test {Path.Combine(root, "test")}", said);
        Assert.DoesNotContain("training on", said);
        // a class whose images are sorted into sub-folders of its own is still a class
        var nested = Directory.CreateDirectory(_temp.File("nested")).FullName;
        foreach (var dir in Directory.GetDirectories(Train))
            foreach (var file in Directory.GetFiles(dir))
                File.Copy(file, Path.Combine(Directory.CreateDirectory(Path.Combine(nested, Path.GetFileName(dir), "2024")).FullName, Path.GetFileName(file)));
        var (nestedExit, nestedOutput) = Run($"train --data {nested} --epochs 1 --out {Out}-nested {Fast}");
        Assert.True(nestedExit == ExitCodes.Success, nestedOutput);
    }

    [Fact]
    public void Imbalanced_classes_are_said_with_the_option_that_weighs_them_equally()
    {
        var imbalanced = Directory.CreateDirectory(_temp.File("imbalanced")).FullName;
        foreach (var dir in Directory.GetDirectories(Train))
        {
            var name = Path.GetFileName(dir);
            var keep = Directory.GetFiles(dir).Order().Take(name == "Bag" ? 2 : int.MaxValue); // 1 Bag left to train on
            foreach (var file in keep) File.Copy(file, Path.Combine(Directory.CreateDirectory(Path.Combine(imbalanced, name)).FullName, Path.GetFileName(file)));
        }

        var (exit, output) = Run($"train --data {imbalanced} --epochs 1 --out {Out} {Fast}");
        var (balancedExit, balanced) = Run($"train --data {imbalanced} --epochs 1 --balance-classes --out {Out}-balanced {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("classes are imbalanced:", output);
        Assert.Contains("Bag 1;", output.ReplaceLineEndings(" "));
        Assert.True(balancedExit == ExitCodes.Success, balanced);
        Assert.DoesNotContain("classes are imbalanced", balanced);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine($"{Out}-balanced", ReportWriter.MetricsFile)));
        Assert.True(metrics.RootElement.GetProperty("training").GetProperty("balanceClasses").GetBoolean());
        var (_, plain) = Run($"train --data {Train} --epochs 1 --out {Out}-plain {Fast}");
        Assert.DoesNotContain("classes are imbalanced", plain);
    }

    [Fact]
    public void Jpegs_that_ask_to_be_turned_are_counted_and_said_since_ml_net_reads_them_as_stored_where_this_tool_turns_them()
    {
        // a phone's upright photo: the pixels stored on their side, EXIF orientation 6 ("turn 90° clockwise to show")
        foreach (var png in Directory.GetFiles(Path.Combine(Train, "Bag")).Order().Take(2))
        {
            using var bitmap = SKBitmap.Decode(png);
            using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            byte[] exif = [0xFF, 0xE1, 0x00, 0x22, .. "Exif\0\0"u8, .. "MM\0*"u8, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];
            var bytes = jpeg.ToArray();
            File.WriteAllBytes(Path.ChangeExtension(png, ".jpg"), [.. bytes[..2], .. exif, .. bytes[2..]]);
            File.Delete(png);
        }

        var (exit, output) = Run($"train --data {Train} --epochs 1 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("2 image(s) carry an EXIF orientation", output.ReplaceLineEndings(" "));
        Assert.Contains("they train and are scored upright", output.ReplaceLineEndings(" "));
        Assert.Contains("ML.NET's LoadImages reads them as stored", output.ReplaceLineEndings(" "));
        Assert.Contains("Consume.cs", output.ReplaceLineEndings(" "));
    }

    [Fact]
    public void Test_images_that_are_training_images_too_are_counted_and_said()
    {
        var (exit, output) = Run($"train --data {Train} --test {Train} --epochs 1 --out {Out} {Fast}");
        var (separate, separateOutput) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-separate {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        int images = Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Length;
        Assert.Contains($"{images} of its {images} images are training images too, so the test accuracy overstates",
            File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.True(separate == ExitCodes.Success, separateOutput);
        Assert.DoesNotContain("training images too", separateOutput);
    }

    [Fact]
    public void Classes_too_small_to_hold_one_out_are_refused_before_any_work_by_name()
    {
        var tiny = Path.Combine(_temp.Path, "tiny");
        foreach (var c in Classes)
        {
            var folder = Directory.CreateDirectory(Path.Combine(tiny, c)).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(Train, c)).Order().Take(c == "Bag" ? 3 : 1))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var (exit, output) = Run($"train --data {tiny} --out {Out} {Fast}");
        var (withTest, withTestOutput) = Run($"train --data {tiny} --test {Test} --epochs 1 --out {Out}-test {Fast}");

        Assert.True(exit == ExitCodes.TooFewImages, output);
        Assert.Contains("2 of 3 classes have fewer than 2 images: Sneaker (1), Trouser (1)", output);
        Assert.Contains("--test", output);
        Assert.DoesNotContain("training on", output);
        Assert.False(File.Exists(Path.Combine(Out, "model.zip")));
        Assert.True(withTest == ExitCodes.Success, withTestOutput); // with a test set, one image a class can train
        Assert.Contains("training on 5 images", withTestOutput);
    }

    [Fact]
    public void Test_images_of_classes_the_model_does_not_know_are_counted_named_and_left_out()
    {
        var hat = Directory.CreateDirectory(Path.Combine(Test, "Hat")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Test, "Bag"))) File.Copy(file, Path.Combine(hat, Path.GetFileName(file)));

        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (evaluateExit, evaluation) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test} --json {_temp.File("eval.json")}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("testing on 9", output);
        Assert.Contains("3 image(s) of classes the training data does not know (Hat 3) are left out of the metrics, not counted as errors", output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        var test = metrics.RootElement.GetProperty("test");
        Assert.Equal(9, test.GetProperty("images").GetInt32());
        Assert.Equal(3, test.GetProperty("unknownClasses").GetProperty("images").GetProperty("Hat").GetInt32());
        Assert.True(evaluateExit == ExitCodes.Success, evaluation);
        Assert.Contains("(Hat 3) are left out", evaluation);
        using var evaluated = JsonDocument.Parse(File.ReadAllText(_temp.File("eval.json")));
        Assert.Equal(9, evaluated.RootElement.GetProperty("images").GetInt32());
        Assert.False(evaluated.RootElement.GetProperty("unknownClasses").GetProperty("countedAsErrors").GetBoolean());
    }

    [Fact]
    public void A_diverging_run_is_stopped_and_still_saves_the_weights_from_before_it_with_the_reason()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 3 --out {Out} --arch tiny --weights scratch --image-size 16 " +
                                 "--strategy RetrainAll --optimizer sgd --lr 1e12");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("stopped early", output);
        Assert.Contains("loss became non-finite at epoch 1", output);
        Assert.True(File.Exists(Path.Combine(Out, "model.zip")));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        var training = metrics.RootElement.GetProperty("training");
        Assert.True(training.GetProperty("stoppedEarly").GetBoolean());
        Assert.Contains("kept the starting weights", training.GetProperty("stopReason").GetString());
        Assert.InRange(metrics.RootElement.GetProperty("test").GetProperty("logLoss").GetDouble(), 0, 100); // finite: a usable model
    }

    [Theory]
    [InlineData("w.safetensors", "not a safetensors file (header length")]
    [InlineData("w.pth", "not a PyTorch state dict")]
    [InlineData("w.dat", "not a TorchSharp Module.save file")]
    [InlineData("w.onnx", "not an ONNX model")]
    public void A_garbage_weights_file_names_the_file_and_the_format_with_one_exit_code(string name, string mention)
    {
        var garbage = _temp.File(name);
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 % 251))]);

        var (exit, output) = Run($"train --data {Train} --test {Test} --out {Out} --arch tiny --weights {garbage} --image-size 16");

        Assert.True(exit == ExitCodes.BadOption, output);
        Assert.True(output.Replace("\n", "").Contains($"{garbage}: {mention}"), output);
    }

    [Fact]
    public void A_gpu_that_is_not_there_is_a_bad_option_and_an_unexpected_failure_exits_1_not_255()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --out {Out} --device cuda:7 {Fast}");
        var console = new TestConsole().Width(250);
        int unexpected = CommandErrors.Run(console, () => throw new NullReferenceException("a defect"));

        Assert.True(exit == ExitCodes.BadOption, output);
        Assert.True(output.Replace("\n", "").Contains("CUDA was requested but"), output); // no CUDA here, or no device 7
        Assert.Equal(ExitCodes.InternalError, unexpected);
        Assert.Contains("unexpected NullReferenceException: a defect", console.Output);
    }

    [Fact]
    public void Train_removes_what_a_killed_save_left_in_its_output_folder()
    {
        using var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        Directory.CreateDirectory(Out);
        var leftover = Path.Combine(Out, $".model.zip.{ended.Id}-{Guid.NewGuid():N}.tmp");
        File.WriteAllText(leftover, "half a model");

        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("removed 1 temporary file(s) left by ended runs", output);
        Assert.False(File.Exists(leftover));
    }

    [Fact]
    public void A_run_that_would_not_fit_in_memory_is_refused_before_any_work_with_the_estimate()
    {
        var (exit, output) = Run($"train --data {Train} --test {Test} --out {Out} --arch tiny --weights scratch --image-size 1024 " +
                                 "--batch-size 100000 --strategy RetrainAll");
        var (fits, fitsOutput) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-fits {Fast}");

        Assert.True(exit == ExitCodes.BadOption, output);
        Assert.Contains("a batch of 100000 at 1024 px", output);
        Assert.Contains("more than the", output);
        Assert.Contains("--no-memory-check", output);
        Assert.DoesNotContain("epoch 1", output);
        Assert.False(File.Exists(Path.Combine(Out, "model.zip")));
        Assert.True(fits == ExitCodes.Success, fitsOutput);
        Assert.Contains("memory: about", fitsOutput);
    }
}

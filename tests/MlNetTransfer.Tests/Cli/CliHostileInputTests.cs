using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>Input an attacker or a careless user brings, each with the answer the README promises: decompression bombs
/// refused from their headers, files that are not files named and left alone, and option values that are not numbers
/// named by option.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliHostileInputTests : CliSandbox
{
    [Fact]
    public void Decompression_bombs_are_refused_from_their_headers_by_train_evaluate_and_predict_with_the_pixel_count_and_the_limit()
    {
        // 177 bytes claiming 50 000 × 50 000 pixels, and a whole 30 000 × 30 000 grey PNG of about 875 KB: decoded,
        // 10 GB and 3.6 GB of RGBA
        var header = Path.Combine(Train, "Bag", "header-bomb.png");
        File.WriteAllBytes(header, HostileImages.PngHeaderOnly(50_000, 50_000));
        var real = Path.Combine(Test, "Bag", "grey-bomb.png");
        HostileImages.WriteBlankGreyPng(real, 30_000);
        // and 1 KB BMPs whose headers put their pixels 4 GB and 1.6 GB into the file: the first ended the process,
        // the second made a decode allocate 1.6 GB (Imaging/SkiaReadStream)
        File.WriteAllBytes(Path.Combine(Train, "Bag", "skips-4gb.bmp"), HostileImages.Bmp(16, 16, pixelsAt: 0xFF80_0036));
        File.WriteAllBytes(Path.Combine(Test, "Bag", "skips-1.6gb.bmp"), HostileImages.Bmp(16, 16, pixelsAt: 0x5FFF_FFF0));
        var allocated = GC.GetTotalAllocatedBytes();

        var (trainExit, training) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (evaluateExit, evaluation) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test}");
        var (predictExit, prediction) = Run($"predict --model {Path.Combine(Out, "model.zip")} {real}");
        var (limitedExit, limited) = Run($"predict --model {Path.Combine(Out, "model.zip")} {Path.Combine(Test, "Bag")} --max-image-pixels 700");

        Assert.True(new FileInfo(header).Length < 200 && new FileInfo(real).Length < 1_000_000);
        Assert.True(trainExit == ExitCodes.Success, training);
        var lines = training.ReplaceLineEndings(" ");
        Assert.Contains("header-bomb.png: 50000×50000 pixels (2500 megapixels) is over the limit of 179 megapixels", lines);
        Assert.Contains("grey-bomb.png: 30000×30000 pixels (900 megapixels) is over the limit", lines);
        Assert.True(evaluateExit == ExitCodes.Success, evaluation);
        Assert.Contains("grey-bomb.png: 30000×30000 pixels", evaluation.ReplaceLineEndings(" "));
        Assert.Contains("skips-4gb.bmp: not a readable image", lines);
        Assert.Contains("skips-1.6gb.bmp: not a readable image", evaluation.ReplaceLineEndings(" "));
        Assert.Equal(ExitCodes.UnreadableImages, predictExit);
        Assert.Contains("over the limit of 179 megapixels (--max-image-pixels", prediction.ReplaceLineEndings(" "));
        Assert.True(limitedExit == ExitCodes.UnreadableImages, limited); // 28 × 28 = 784 pixels, over a limit of 700
        Assert.True(GC.GetTotalAllocatedBytes() - allocated < 1L << 30, "no bomb's pixels were ever allocated");
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile)));
        Assert.Contains("header-bomb.png", metrics.RootElement.GetProperty("training").GetProperty("skippedImages").ToString());
        Assert.Contains("grey-bomb.png", metrics.RootElement.GetProperty("test").GetProperty("skippedImages").ToString());
    }

    [Fact]
    public async Task A_fifo_or_a_socket_named_like_an_image_is_skipped_and_named_not_read_for_ever()
    {
        var fifo = Path.Combine(Train, "Bag", "pipe.png");
        using (var mkfifo = Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        var socketPath = Path.Combine(Train, "Sneaker", "socket.jpg");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        var run = Task.Run(() => Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}"));
        var (exit, output) = await run.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken); // it used to wait on the FIFO for ever

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("pipe.png: a FIFO (named pipe), not an image file", output);
        Assert.Contains("socket.jpg: a socket, not an image file", output);
        Assert.Contains("training on 24 images", output);
    }

    [Fact]
    public void Outputs_never_overwrite_what_the_command_reads_through_a_link_nor_land_in_a_class_folder_and_json_can_go_to_standard_output()
    {
        var (trainExit, training) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        Assert.True(trainExit == ExitCodes.Success, training);
        var model = Path.Combine(Out, "model.zip");
        var link = Path.Combine(_temp.Path, "linked-model.zip");
        File.CreateSymbolicLink(link, model);
        var before = File.ReadAllBytes(model);

        var (csvExit, csv) = Run($"predict --model {link} {Path.Combine(Test, "Bag")} --csv {model}");
        var (inClassExit, inClass) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Path.Combine(Train, "Bag", "run")} {Fast}");
        var (jsonExit, json) = Run($"evaluate --model {model} --data {Test} --json -");

        Assert.Equal(ExitCodes.BadOption, csvExit); // it replaced the model with an 86-byte CSV
        Assert.Contains("is the file --model reads", csv);
        Assert.Equal(before, File.ReadAllBytes(model));
        Assert.Equal(ExitCodes.BadOption, inClassExit); // the next run dropped the class Bag
        Assert.Contains("inside the class folder 'Bag'", inClass);
        Assert.False(Directory.Exists(Path.Combine(Train, "Bag", "run")));
        Assert.True(jsonExit == ExitCodes.Success, json);
        using var metrics = JsonDocument.Parse(json); // standard output holds the JSON alone
        Assert.Equal(9, metrics.RootElement.GetProperty("images").GetInt32());
    }

    [Fact]
    public void A_csv_names_a_nul_in_a_file_name_by_line_and_quotes_at_most_a_hundred_characters_of_a_huge_field()
    {
        var rows = Directory.GetFiles(Train, "*.png", SearchOption.AllDirectories).Order()
            .Select(f => $"{Path.GetRelativePath(_temp.Path, f)},{Path.GetFileName(Path.GetDirectoryName(f))}").ToList();
        var withNul = Path.Combine(_temp.Path, "nul.csv");
        File.WriteAllLines(withNul, ["filename,target", "train/Bag/evil\0.png,Bag", .. rows]);
        var huge = Path.Combine(_temp.Path, "huge.csv");
        File.WriteAllText(huge, new string('x', 50_000) + ",target\n"); // a header line past 64 KB is refused unread (NotACsvTests)

        var (nulExit, nul) = Run($"train --data {withNul} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (hugeExit, hugeOutput) = Run($"train --data {huge} --test {Test} --epochs 1 --out {Out}-huge {Fast}");

        Assert.True(nulExit == ExitCodes.Success, nul);
        Assert.Contains("nul.csv,line2:thefilenameholdsaNULcharacter", nul.ReplaceLineEndings("").Replace(" ", ""), StringComparison.Ordinal); // a long path wraps
        Assert.Contains("training on 24 images", nul);
        Assert.Equal(ExitCodes.UnreadableCsv, hugeExit);
        Assert.Contains("(50007 characters)", hugeOutput.ReplaceLineEndings(""));
        Assert.True(hugeOutput.Length < 3_000, $"{hugeOutput.Length} characters reached the terminal");
    }

    [Fact]
    public void Class_names_that_differ_only_in_unicode_normalisation_or_case_are_said_and_stay_two_classes()
    {
        foreach (var name in new[] { "Caf\u00e9", "Cafe\u0301", "bag" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(Train, name)).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(Train, "Bag")).Order().Take(4)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var (exit, output) = Run($"train --data {Train} --epochs 1 --out {Out} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains("differ only in Unicode normalisation (NFD vs NFC)", text);
        Assert.Contains("'Bag' and 'bag' differ only by case", text);
        Assert.Contains("in 6 classes", text); // they stay separate classes, as Linux names them
    }

    [Fact]
    public void An_out_folder_takes_one_run_at_a_time_says_when_a_new_run_replaces_a_checkpoint_and_resume_json_keeps_absolute_paths()
    {
        var relativeData = Path.GetRelativePath(Directory.GetCurrentDirectory(), Train); // as a user types it, from here
        using var interrupted = new CancellationTokenSource();
        var console = new CancellingConsole(new TestConsole().Width(250), "epoch 1/3", interrupted);
        int exit = RunOn(console, $"train --data {relativeData} --test {Test} --epochs 3 --out {Out} {Fast}", interrupted.Token);
        Assert.True(exit == ExitCodes.Interrupted, console.Output);

        using var resume = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "resume.json")));
        int lockedExit;
        string locked;
        using (new FileStream(Path.Combine(Out, ".mlnettransfer.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            (lockedExit, locked) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}"); // another run writing there now
        bool untouched = File.Exists(Path.Combine(Out, "checkpoint.zip"));
        var (replacedExit, replaced) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");

        Assert.Equal(Train, resume.RootElement.GetProperty("Data").GetString()); // --resume works from any folder
        Assert.Equal(ExitCodes.BadOption, lockedExit);
        Assert.Contains("another run is writing there now", locked);
        Assert.True(untouched, "the refused run touched nothing");
        Assert.True(replacedExit == ExitCodes.Success, replaced);
        Assert.Contains("holds the checkpoint of an interrupted run: this run replaces it", replaced.ReplaceLineEndings(" "));
        Assert.False(File.Exists(Path.Combine(Out, "checkpoint.zip")));
    }

    [Fact]
    public void The_systems_own_folders_are_not_data_and_a_link_into_them_is_named_and_left_out()
    {
        Directory.CreateSymbolicLink(Path.Combine(Train, "Bag", "machine"), "/proc/self"); // /proc/self/root leads to the whole machine

        var (procExit, proc) = Run($"train --data /proc --out {Out}-proc {Fast}");
        var (linkedExit, linked) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");

        Assert.Equal(ExitCodes.DataNotFound, procExit); // was exit 1 with a stack trace
        Assert.Contains("/proc: a folder of the system's", proc);
        Assert.True(linkedExit == ExitCodes.Success, linked);
        Assert.Contains("Bag/machine (leads to /proc/", linked.ReplaceLineEndings(""));
        Assert.Contains("training on 24 images", linked);
    }
}

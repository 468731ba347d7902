using System.Diagnostics;
using MlNetTransfer.Cli;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>The CLI as its own process, where in-process runs cannot show it: signals, and the generated
/// consumption app run with `dotnet run` where `train` writes it.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class CliProcessTests : IDisposable
{
    const string Fast = "--arch tiny --weights scratch --image-size 16 --strategy RetrainAll --lr 0.01";
    readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Onednn_switched_off_by_its_environment_variable_is_said_and_training_still_runs()
    {
        // process-wide, so in a process of its own; it used to recurse into the loader until the stack overflowed
        var start = new ProcessStartInfo("dotnet", [TestPaths.Cli, "train", "--data", Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train"),
            "--epochs", "1", "--out", _temp.File("out"), .. Fast.Split(' ')])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment[Runtime.OneDnnGuard.EnvironmentVariable] = "off";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "train did not end");
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stdout}\n{await stderr}");
        Assert.True(File.Exists(Path.Combine(_temp.File("out"), "model.zip")));

        var info = new ProcessStartInfo("dotnet", [TestPaths.Cli, "info"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment[Runtime.OneDnnGuard.EnvironmentVariable] = "off";
        using var report = Process.Start(info)!;
        var said = await report.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(report.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains($"off ({Runtime.OneDnnGuard.EnvironmentVariable}=off)", said);
    }

    [Fact]
    public async Task Libtorch_developer_warnings_stay_off_the_console_unless_torch_cpp_log_level_or_verbose_asks()
    {
        async Task<string> Train(string name)
        {
            var start = new ProcessStartInfo("dotnet", [TestPaths.Cli, "train", "--data", Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train"),
                "--epochs", "1", "--out", _temp.File(name), .. Fast.Split(' ')])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment.Remove(Runtime.LibTorchLogLevel.EnvironmentVariable);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "train did not end");
            var all = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {all}");
            return all;
        }

        var quiet = await Train("quiet");
        // written to a pipe, an epoch's line is one line (Spectre.Console wrapped it at 80 columns: LogConsole)
        Assert.Matches(@"(?m)^epoch 1/1  loss .* img/s  ETA \d+:\d\d\s*$", quiet);
        Assert.DoesNotContain("NNPACK", quiet);
        Assert.DoesNotContain("] Could not", quiet);
        // asked for, libtorch's threshold is what TORCH_CPP_LOG_LEVEL says, as in PyTorch
        var info = new ProcessStartInfo("dotnet", [TestPaths.Cli, "info"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment[Runtime.LibTorchLogLevel.EnvironmentVariable] = "WARNING";
        using var report = Process.Start(info)!;
        var said = await report.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(report.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains("warnings and errors (TORCH_CPP_LOG_LEVEL=WARNING)", said);

        // and --verbose (train, evaluate, predict, info) asks the same of this run alone
        var verbose = new ProcessStartInfo("dotnet", [TestPaths.Cli, "info", "--verbose"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        verbose.Environment.Remove(Runtime.LibTorchLogLevel.EnvironmentVariable);
        using var verboseReport = Process.Start(verbose)!;
        var verboseSaid = await verboseReport.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(verboseReport.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.Contains("warnings and errors (--verbose)", verboseSaid);
    }

    [Fact]
    public async Task Predict_reads_an_image_or_a_list_of_images_from_standard_input_given_as_a_lone_dash()
    {
        var output = _temp.File("out");
        var train = Process.Start(new ProcessStartInfo("dotnet", [TestPaths.Cli, "train", "--data", Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train"),
            "--epochs", "1", "--out", output, .. Fast.Split(' ')]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var trained = train.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(train.WaitForExit(TimeSpan.FromMinutes(3)) && train.ExitCode == 0, await trained);
        var image = Directory.GetFiles(Path.Combine(TestPaths.DataSamples, "fashion-mnist", "test", "Bag"), "*.png").Order().First();

        async Task<(int Exit, string Said)> Predict(byte[] input, params string[] extra)
        {
            var start = new ProcessStartInfo("dotnet", [TestPaths.Cli, "predict", "--model", Path.Combine(output, "model.zip"), .. extra, "-", "--top", "10"])
            { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.DataSamples };
            using var process = Process.Start(start)!;
            await process.StandardInput.BaseStream.WriteAsync(input);
            process.StandardInput.Close();
            var said = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "predict did not end");
            return (process.ExitCode, await said + await errors);
        }

        var (exit, said) = await Predict(await File.ReadAllBytesAsync(image, TestContext.Current.CancellationToken));
        Assert.True(exit == 0, said);
        Assert.Contains("Bag", said); // --top 10: every class is listed for the image
        Assert.Contains("│ -", said); // the row names standard input as it was given
        Assert.Equal(0, (await Predict(await File.ReadAllBytesAsync(image, TestContext.Current.CancellationToken), "--verbose")).Exit); // a flag before "-" keeps "-" the image

        var (emptyExit, emptySaid) = await Predict([]);
        Assert.Equal(ExitCodes.EmptyData, emptyExit);
        Assert.Contains("standard input was empty", emptySaid);
        var (garbageExit, garbageSaid) = await Predict([0x00, 0x01, 0x02]);
        Assert.Equal(ExitCodes.UnreadableImages, garbageExit);
        Assert.Contains("the image on standard input", garbageSaid);

        // text is a list of images, as find prints them: paths relative to the current folder, named as listed
        var listed = new[] { Path.GetRelativePath(TestPaths.DataSamples, image), "fashion-mnist/test/Bag/no-such.png" };
        var (listExit, listSaid) = await Predict(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", listed) + "\n"), "--csv", "-");
        Assert.True(listExit == 0, listSaid);
        Assert.StartsWith($"path,predicted", listSaid);
        Assert.Contains($"\n{listed[0]},", listSaid);
        Assert.Contains($"skipped {listed[1]}: missing", listSaid);
        var (textExit, textSaid) = await Predict("not an image"u8.ToArray());
        Assert.Equal(ExitCodes.UnreadableCsv, textExit);
        Assert.Contains("standard input is text, so it was read as a list of images", textSaid);
    }

    [Fact]
    public async Task Sigterm_stops_training_like_ctrl_c_and_keeps_a_checkpoint()
    {
        var output = _temp.File("out");
        var start = new ProcessStartInfo("dotnet", [TestPaths.Cli, "train", "--data", Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train"),
            "--epochs", "200", "--out", output, .. Fast.Split(' ')])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string? line;
        var seen = new List<string>();
        while ((line = process.StandardOutput.ReadLine()) != null && !line.StartsWith("epoch 2/")) seen.Add(line);
        if (line == null) Assert.Fail($"training never reached epoch 2: {string.Join('\n', seen)}\n{await stderr}");

        Assert.True(Signals.Terminate(process.Id)); // what `docker stop`, Kubernetes and systemd send
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the process did not stop after SIGTERM");

        var rest = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = await stderr;
        Assert.True(process.ExitCode == ExitCodes.Interrupted, $"exit {process.ExitCode}: {rest}\n{errors}");
        Assert.Contains("SIGTERM: stopping after the current batch", errors);
        Assert.True(File.Exists(Path.Combine(output, "checkpoint.zip")) && File.Exists(Path.Combine(output, "checkpoint.state")), rest);
    }

    [Fact]
    public async Task The_generated_consumption_app_runs_where_train_writes_it_inside_the_repository()
    {
        // inside the repository, whose Directory.Packages.props would otherwise put the file-based app under central
        // package management (NU1008)
        var output = Path.Combine(TestPaths.RepositoryRoot, "out", $"consume-test-{Guid.NewGuid():N}");
        try
        {
            var console = new TestConsole().Width(250);
            int exit = await CliApp.Create(console).RunAsync(["train", "--data", Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train"),
                "--epochs", "1", "--out", output, .. Fast.Split(' ')], TestContext.Current.CancellationToken);
            Assert.True(exit == ExitCodes.Success, console.Output);
            var image = Directory.GetFiles(Path.Combine(TestPaths.DataSamples, "fashion-mnist", "test", "Bag")).Order().First();

            var stdout = await RunConsumptionApp(output, image);
            var classes = Directory.GetDirectories(Path.Combine(TestPaths.DataSamples, "fashion-mnist", "train")).Select(Path.GetFileName);
            Assert.Matches(@"^\S+ \(\d+(\.\d)? %\)", stdout.Trim()); // "Bag (43.5 %)"
            Assert.Contains(stdout.Trim().Split(' ')[0], classes);

            // where a user runs it, outside this repository's build settings: the restore warns about nothing
            using var elsewhere = new TempDirectory();
            foreach (var file in new[] { "Consume.cs", "model.zip" }) File.Copy(Path.Combine(output, file), elsewhere.File(file));
            Assert.Equal(stdout, await RunConsumptionApp(elsewhere.Path, image));
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>dotnet run Consume.cs in <paramref name="folder"/>: asserts exit 0 and no warning, returns stdout.</summary>
    static async Task<string> RunConsumptionApp(string folder, string image)
    {
        var (stdout, errors) = await FileBasedApp.Run(Path.Combine(folder, "Consume.cs"), folder, image);
        Assert.DoesNotContain("warning", stdout + errors);
        return stdout;
    }
}

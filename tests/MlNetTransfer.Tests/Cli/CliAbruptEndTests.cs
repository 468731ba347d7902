using System.Diagnostics;
using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>`train` as its own process, ended in ways it cannot prepare for — killed outright, its terminal hung up,
/// the reader of its output gone — keeps what it had: a checkpoint that `train --resume` continues to the model the
/// uninterrupted run gives, or the run finished.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class CliAbruptEndTests : CliSandbox
{
    /// <summary>The CLI in a child process on the sandbox's images, its output read line by line.</summary>
    Process Start(string output, params string[] more)
    {
        var start = new ProcessStartInfo("dotnet", [TestPaths.Cli, "train", "--data", Train, "--test", Test, "--out", output, .. Fast.Split(' '), .. more])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        return Process.Start(start)!;
    }

    /// <summary>Reads the child's output until a line starting with <paramref name="prefix"/>; fails with what it said otherwise.</summary>
    static void ReadUntil(Process process, string prefix, Task<string> stderr)
    {
        var seen = new List<string>();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) != null && !line.StartsWith(prefix, StringComparison.Ordinal)) seen.Add(line);
        if (line == null) Assert.Fail($"no line starting '{prefix}': {string.Join('\n', seen)}\n{stderr.Result}");
    }

    static double TestLogLoss(string output)
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, ReportWriter.MetricsFile)));
        return metrics.RootElement.GetProperty("test").GetProperty("logLoss").GetDouble();
    }

    /// <summary>The CLI in a child process to its end: exit code and everything it said.</summary>
    static async Task<(int Exit, string Said)> RunChild(params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [TestPaths.Cli, .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "train did not end");
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task A_run_killed_outright_continues_with_resume_from_its_last_checkpoint_to_the_uninterrupted_model()
    {
        // every run in a fresh process of its own: the test host's libtorch has served other tests, and a model that
        // trains 40 epochs at this rate carries any difference in rounding from the first batch to the last
        var output = Path.Combine(_temp.Path, "killed");
        using (var process = Start(output, "--epochs", "40", "--checkpoint-every", "0"))
        {
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            ReadUntil(process, "checkpoint after epoch 2 kept", stderr);
            Assert.True(Signals.Kill(process.Id)); // kill -9, the out-of-memory killer: no handler runs
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)));
        }
        Assert.False(File.Exists(Path.Combine(output, TrainCommand.ModelFile)), "the run ended before it was killed");
        Assert.True(File.Exists(Path.Combine(output, ResumeState.FileName)) && File.Exists(Path.Combine(output, ResumeState.StateName)));

        var (resumed, said) = await RunChild("train", "--resume", "--out", output);
        Assert.True(resumed == ExitCodes.Success, said);
        Assert.Matches(@"resuming RetrainAll at 16 px from epoch \d+, batch 1", said);
        Assert.False(File.Exists(Path.Combine(output, ResumeState.StateName)), "the finished run left its checkpoint");

        var whole = Path.Combine(_temp.Path, "whole");
        var (exit, wholeSaid) = await RunChild(["train", "--data", Train, "--test", Test, "--out", whole, .. Fast.Split(' '), "--epochs", "40", "--checkpoint-every", "off"]);
        Assert.True(exit == ExitCodes.Success, wholeSaid);
        Assert.DoesNotContain("checkpoint", wholeSaid);
        Assert.Equal(TestLogLoss(whole), TestLogLoss(output));
    }

    [Fact]
    public void A_run_that_fails_after_keeping_a_checkpoint_says_so_and_resume_continues_it()
    {
        var output = Path.Combine(_temp.Path, "failed");
        var arguments = $"train --data {Train} --test {Test} --out {output} {Fast} --epochs 6";
        var console = new FailingConsole(new TestConsole().Width(250), "checkpoint after epoch 2 kept",
            new InvalidOperationException("CUDA out of memory (as a test throws it)"));

        int exit = RunOn(console, arguments + " --checkpoint-every 0", TestContext.Current.CancellationToken);

        Assert.True(exit == ExitCodes.InternalError, console.Output);
        var said = console.Output.ReplaceLineEndings(" ");
        Assert.Contains($"training failed; the checkpoint kept after epoch 2 stays in {output}: train --resume --out {output} continues from it", said);
        Assert.Contains("CUDA out of memory (as a test throws it)", said);
        var (resumed, resumedSaid) = Run($"train --resume --out {output}");
        Assert.True(resumed == ExitCodes.Success, resumedSaid);
        Assert.Contains("resuming RetrainAll at 16 px from epoch 3, batch 1", resumedSaid);
        var whole = Path.Combine(_temp.Path, "whole");
        Assert.Equal(ExitCodes.Success, Run(arguments.Replace(output, whole)).Exit);
        Assert.Equal(TestLogLoss(whole), TestLogLoss(output));
    }

    [Fact]
    public void A_hung_up_terminal_stops_training_like_ctrl_c_and_keeps_a_checkpoint()
    {
        // train on a terminal of its own (a pseudo-terminal, its session's), which closes mid-run as an SSH session
        // does: the kernel sends SIGHUP and answers every later write to it with EIO
        var output = Path.Combine(_temp.Path, "hung-up");
        var script = _temp.File("hang-up.py");
        File.WriteAllText(script, """
            import os, pty, signal, sys
            errors, argv = sys.argv[1], sys.argv[2:]
            pid, terminal = pty.fork()
            if pid == 0:
                os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
                # as a terminal's shell starts it: a suite run under nohup would hand down SIGHUP ignored, and .NET
                # keeps a signal ignored that a process starts with
                signal.signal(signal.SIGHUP, signal.SIG_DFL)
                os.execvp(argv[0], argv)
            said = b""
            while b"epoch 2/" not in said:
                said += os.read(terminal, 4096)
            os.close(terminal)
            print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
            sys.stderr.write(said[-3000:].decode("utf-8", "replace"))  # what the terminal showed, for a failure's message
            """);
        var errors = _temp.File("errors.txt");
        var start = new ProcessStartInfo("/usr/bin/python3", [script, errors, "dotnet", TestPaths.Cli, "train", "--data", Train, "--test", Test, "--out", output,
            .. Fast.Split(' '), "--epochs", "400", "--checkpoint-every", "off"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var exit = process.StandardOutput.ReadToEnd().Trim();
        var terminal = process.StandardError.ReadToEnd(); // written after the exit code: a few kB, no pipe fills
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the terminal's process did not end");

        // before: SIGHUP ended the run with nothing kept (exit -1); then a write to the closed terminal aborted it (-6)
        Assert.True(exit == ExitCodes.Interrupted.ToString(), $"exit {exit}: {File.ReadAllText(errors)}\nthe terminal showed: {terminal}");
        Assert.Contains("SIGHUP: stopping after the current batch", File.ReadAllText(errors));
        Assert.True(File.Exists(Path.Combine(output, ResumeState.StateName)) && File.Exists(Path.Combine(output, ResumeState.FileName)));
        var (resumed, resumedSaid) = Run($"train --resume --out {output}");
        Assert.True(resumed == ExitCodes.Success, resumedSaid);
    }
}

using System.Diagnostics;

namespace MlNetTransfer.Tests;

/// <summary>Debian's python3-torch (1.13) for the job tests: the interpreter that imports torch, and a way to run a
/// job's script in a child process.</summary>
public static class PyTorchProcess
{
    static readonly Lazy<string> Interpreter = new(() =>
        new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => Run(p, ["-c", "import torch, torchvision"], null).Exit == 0)
        ?? throw new InvalidOperationException("no python3 with torch and torchvision: apt-get install python3-torch python3-torchvision (.ci/run does)"));

    public static string Python => Interpreter.Value;

    /// <summary>torchrun with <paramref name="processes"/> processes (gloo on the CPU). `--redirects 1 --tee 1`: torch
    /// 1.13's launcher cannot parse its own default "0" on Python 3.11 (Debian 12); 1 is stdout to a file and the console.</summary>
    public static (int Exit, string Output) Torchrun(string jobFolder, int processes, params string[] scriptArguments) =>
        Run(Python, ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", processes.ToString(), "--redirects", "1", "--tee", "1",
            Path.Combine(jobFolder, "train_ddp.py"), .. scriptArguments], jobFolder);

    /// <summary>The script in one process, without torchrun.</summary>
    public static (int Exit, string Output) Script(string jobFolder, params string[] scriptArguments) =>
        Run(Python, [Path.Combine(jobFolder, "train_ddp.py"), .. scriptArguments], jobFolder);

    /// <summary>Python code (<c>python3 -c</c>) in <paramref name="folder"/>, which is on its import path.</summary>
    public static (int Exit, string Output) Code(string code, string folder) => Run(Python, ["-c", code], folder);

    static (int Exit, string Output) Run(string file, IEnumerable<string> arguments, string? folder)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder ?? "" };
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}

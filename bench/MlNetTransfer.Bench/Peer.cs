using System.Diagnostics;
using System.Text.Json;

namespace MlNetTransfer.Bench;

/// <summary>Runs bench/peer.py (PyTorch) for a case when Debian's python3-torch is installed.</summary>
public static class Peer
{
    public sealed record Result(string Torch, double RawImagesPerSecond, double EndToEndImagesPerSecond, double[] EpochSeconds, RawStep.StepProfile? Profile = null);

    public static string? Python(string device)
    {
        // a CUDA run needs a PyTorch that sees the GPU; a CPU-only install is no peer for it
        var probeScript = device == "cuda" ? "import torch, torchvision; assert torch.cuda.is_available()" : "import torch, torchvision";
        foreach (var python in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(python, ["-c", probeScript]) { RedirectStandardError = true });
                probe!.WaitForExit();
                if (probe.ExitCode == 0) return python;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    public static Result Run(string python, string script, BenchCase c, int threads, int steps, int epochs, string images, string device, int repeat,
        bool profile = false)
    {
        var strategy = c.Strategy == Engine.Strategies.FineTuneStrategy.HeadOnly ? "head" : "all";
        var start = new ProcessStartInfo(python, [script, "--arch", c.Architecture, "--strategy", strategy, "--res", c.Resolution.ToString(),
            "--batch", c.BatchSize.ToString(), "--threads", threads.ToString(), "--steps", steps.ToString(), "--epochs", epochs.ToString(), "--images", images, "--device", device, "--repeat", repeat.ToString(), .. (profile ? new[] { "--profile" } : [])])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var errorTask = process.StandardError.ReadToEndAsync(); // both pipes at once: a full stderr pipe would stall the peer
        var output = process.StandardOutput.ReadToEnd();
        var error = errorTask.Result;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"peer.py failed for {c.Name}: {error}");
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = json.RootElement;
        return new Result(root.GetProperty("torch").GetString()!, root.GetProperty("raw_images_per_second").GetDouble(),
            root.GetProperty("end_to_end_images_per_second").GetDouble(),
            root.GetProperty("epoch_seconds").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            root.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.Object
                ? new RawStep.StepProfile(p.GetProperty("forward_host_ms").GetDouble(), p.GetProperty("backward_host_ms").GetDouble(),
                    p.GetProperty("optimizer_host_ms").GetDouble(), p.GetProperty("drain_ms").GetDouble(), p.GetProperty("synced_step_ms").GetDouble(),
                    p.GetProperty("overlapped_step_ms").GetDouble())
                : null);
    }
}

using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;

namespace MlNetTransfer.Runtime;

/// <summary>
/// ONNX Runtime sizes a session's intra-op pool from the CPUs of the process's affinity mask, not from a CPU quota —
/// <c>docker run --cpus</c>, a Kubernetes CPU limit, a systemd <c>CPUQuota</c> —, so a scoring process limited to 2
/// CPUs on a 64-core node runs a pool of dozens of threads that spin and are throttled. .NET's
/// <see cref="Environment.ProcessorCount"/> counts the quota (and <c>DOTNET_PROCESSOR_COUNT</c>); where it is fewer
/// than the CPUs the process may run on and the user chose no count of their own (ONNX Runtime's
/// <c>ORT_INTRA_OP_NUM_THREADS</c>, or session options set on the context), the sessions ML.NET opens for a model
/// get that many threads. Measured with the generated web API under a 1-CPU quota on a 2-core machine (ResNet-18 at
/// 224 px): 8 clients 17.2–19.9 → 23.3–23.6 requests/s, p99 0.79–0.99 → 0.63–0.66 s; one client p50 51–72 → 41–42 ms.
/// The web API template carries a twin of this rule (templates/WebApi/OnnxThreads.cs), which must build on ML.NET alone.
/// </summary>
public static class OnnxThreads
{
    /// <summary>ONNX Runtime's own variable: set, it sizes the pool and this rule stands aside.</summary>
    public const string UserVariable = "ORT_INTRA_OP_NUM_THREADS";

    /// <summary>The intra-op thread count for sessions opened in this process, or null to leave ONNX Runtime's own.</summary>
    public static int? IntraOpThreads() => Decide(Environment.ProcessorCount, AffinityCpus(), Environment.GetEnvironmentVariable);

    /// <summary><paramref name="processorCount"/> where that is fewer than <paramref name="affinityCpus"/> and
    /// <see cref="UserVariable"/> is not set; otherwise null.</summary>
    public static int? Decide(int processorCount, int affinityCpus, Func<string, string?> environment) =>
        !string.IsNullOrWhiteSpace(environment(UserVariable)) || processorCount >= affinityCpus ? null : processorCount;

    /// <summary>Gives the sessions <paramref name="mlContext"/> opens from now on (a zip it loads) the count of
    /// <see cref="IntraOpThreads"/>, unless the context already carries session options of the user's; returns the
    /// count set, or null.</summary>
    public static int? Apply(MLContext mlContext) => Apply(mlContext, IntraOpThreads());

    /// <summary>One intra-op thread a run for the sessions <paramref name="mlContext"/> opens, unless the user chose a
    /// count (<see cref="UserVariable"/>, or session options on the context): for a process that scores with one
    /// PredictionEngine per CPU at once (<c>ImageFileScorer</c>: the CLI's predict, evaluate and train's test), whose runs
    /// would otherwise each spread over every CPU — CPUs × CPUs threads. On 2 cores, <c>evaluate</c> of 400 images at
    /// 224 px: 12.6–13.3 s with ONNX Runtime's own count, 10.2–11.5 s with one. Returns the count set, or null.</summary>
    public static int? ApplyOnePerRun(MLContext mlContext) =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(UserVariable)) ? Apply(mlContext, 1) : null;

    internal static int? Apply(MLContext mlContext, int? threads)
    {
        if (threads is not { } count || mlContext.GetOnnxSessionOption() != null) return null;
        mlContext.SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = count });
        return count;
    }

    /// <summary>The count for a session built from <paramref name="mlContext"/> with explicit options (ApplyOnnxModel):
    /// <see cref="IntraOpThreads"/>, or null where the context carries the user's session options.</summary>
    internal static int? For(MLContext mlContext) => mlContext.GetOnnxSessionOption() == null ? IntraOpThreads() : null;

    /// <summary>The CPUs this process may run on (Linux's <c>Cpus_allowed_list</c>); .NET's count elsewhere, which
    /// makes the rule a no-op.</summary>
    static int AffinityCpus()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            if (line != null && CountCpuList(line["Cpus_allowed_list:".Length..]) is > 0 and var count) return count;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }

    /// <summary>The CPUs a kernel CPU list names ("0-3,8,10-11" → 7); 0 when it is not one.</summary>
    internal static int CountCpuList(string list)
    {
        int count = 0;
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-');
            if (!int.TryParse(bounds[0], out int first) || !int.TryParse(bounds[^1], out int last) || bounds.Length > 2 || last < first) return 0;
            count += last - first + 1;
        }
        return count;
    }
}

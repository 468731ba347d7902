using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;

namespace WebApi;

/// <summary>ONNX Runtime sizes its thread pool from the CPUs the app may run on, not from a CPU limit (docker run --cpus,
/// a Kubernetes CPU limit): limited to 2 CPUs on a 64-core node, it would run dozens of threads that the kernel
/// throttles. .NET's Environment.ProcessorCount counts the limit; where it is fewer than those CPUs, the model's session
/// gets that many threads — unless ORT_INTRA_OP_NUM_THREADS is set, which ONNX Runtime then follows. Under a 1-CPU
/// limit on a 2-core machine this served 8 clients 17–20 → 23–24 requests/s. (mlnet-transfer's own scoring follows
/// the same rule.)</summary>
public static class OnnxThreads
{
    public const string UserVariable = "ORT_INTRA_OP_NUM_THREADS";

    /// <summary>Gives the sessions the context opens the CPU limit's count, where the rule asks; returns it, or null.</summary>
    public static int? Apply(MLContext mlContext)
    {
        if (Decide(Environment.ProcessorCount, AffinityCpus(), Environment.GetEnvironmentVariable) is not { } threads
            || mlContext.GetOnnxSessionOption() != null) return null;
        mlContext.SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = threads });
        return threads;
    }

    public static int? Decide(int processorCount, int affinityCpus, Func<string, string?> environment) =>
        !string.IsNullOrWhiteSpace(environment(UserVariable)) || processorCount >= affinityCpus ? null : processorCount;

    static int AffinityCpus()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            if (line != null && CountCpuList(line["Cpus_allowed_list:".Length..]) is > 0 and var count) return count;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount; // not Linux: the rule stands aside
    }

    /// <summary>The CPUs a kernel CPU list names ("0-3,8,10-11" → 7); 0 when it is not one.</summary>
    public static int CountCpuList(string list)
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

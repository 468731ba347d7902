using TorchSharp;

namespace MlNetTransfer.Runtime;

/// <summary>
/// libtorch sizes its intra-op thread pool from the CPUs the process may run on (OpenMP reads the affinity mask), not
/// from a CPU quota — <c>docker run --cpus</c>, a Kubernetes CPU limit, a systemd <c>CPUQuota</c> —, so a container
/// limited to 2 CPUs on a 64-core node runs 64 threads that the kernel throttles. .NET's
/// <see cref="Environment.ProcessorCount"/> counts the quota (and <c>DOTNET_PROCESSOR_COUNT</c>); where the user set
/// no thread count of their own (<c>OMP_NUM_THREADS</c>, <c>MKL_NUM_THREADS</c>), libtorch's pool is cut to it.
/// Measured on a 2-core machine under a 1-CPU quota: a whole-network fine-tune 23.4 s with libtorch's 2 threads,
/// 20.1 s with 1; under half a CPU 44.3 and 41.0 s. The CPU feature pass's ONNX Runtime sessions take libtorch's count.
/// </summary>
internal static class CpuQuotaThreads
{
    /// <summary>Variables that, set, mean the user chose the thread count: it is left as libtorch read it.</summary>
    public static readonly IReadOnlyList<string> UserVariables = ["OMP_NUM_THREADS", "MKL_NUM_THREADS"];

    /// <summary>The thread count libtorch should use, or null to leave its own: <paramref name="processorCount"/>
    /// where that is fewer than <paramref name="torchThreads"/> and no variable of <see cref="UserVariables"/> is set.</summary>
    public static int? Decide(int torchThreads, int processorCount, Func<string, string?> environment) =>
        UserVariables.Any(v => !string.IsNullOrWhiteSpace(environment(v))) || processorCount >= torchThreads ? null : processorCount;

    /// <summary>Cuts libtorch's pool to the CPUs the process may use, where <see cref="Decide"/> says so; returns the
    /// count set, or null.</summary>
    public static int? Apply()
    {
        var threads = Decide(torch.get_num_threads(), Environment.ProcessorCount, Environment.GetEnvironmentVariable);
        if (threads is { } count) torch.set_num_threads(count);
        return threads;
    }
}

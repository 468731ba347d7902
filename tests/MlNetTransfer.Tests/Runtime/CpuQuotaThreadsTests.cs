using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>libtorch's pool follows the CPUs .NET counts for the process — a container's CPU quota, an affinity mask,
/// DOTNET_PROCESSOR_COUNT — rather than the node's cores, unless the user chose a thread count of their own.</summary>
public class CpuQuotaThreadsTests
{
    [Theory]
    [InlineData(64, 2, null, null, 2)]    // a 2-CPU limit on a 64-core node
    [InlineData(2, 2, null, null, null)]  // nothing to cut
    [InlineData(2, 8, null, null, null)]  // never more than libtorch's own
    [InlineData(64, 2, "64", null, null)] // OMP_NUM_THREADS: the user's choice stands
    [InlineData(64, 2, null, "8", null)]  // MKL_NUM_THREADS too
    [InlineData(64, 2, " ", null, 2)]     // a blank variable chooses nothing
    public void The_pool_is_cut_to_the_processes_cpus_unless_the_user_chose(int torchThreads, int processorCount, string? omp, string? mkl, int? expected)
    {
        var environment = new Dictionary<string, string?> { ["OMP_NUM_THREADS"] = omp, ["MKL_NUM_THREADS"] = mkl };
        Assert.Equal(expected, CpuQuotaThreads.Decide(torchThreads, processorCount, v => environment.GetValueOrDefault(v)));
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void A_process_limited_to_fewer_cpus_than_the_machine_has_runs_that_many_torch_threads()
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, "needs a machine with 2 CPUs or more");
        static string Info(params (string Name, string Value)[] variables) => CliInfo.Run(CpuQuotaThreads.UserVariables, variables);

        // DOTNET_PROCESSOR_COUNT limits .NET's count as a CPU quota does (a quota needs a cgroup the test cannot make)
        Assert.Contains("1 torch intra-op threads, 1 CPUs usable", Info(("DOTNET_PROCESSOR_COUNT", "1")));
        Assert.Contains("2 torch intra-op threads, 1 CPUs usable", Info(("DOTNET_PROCESSOR_COUNT", "1"), ("OMP_NUM_THREADS", "2")));
    }
}

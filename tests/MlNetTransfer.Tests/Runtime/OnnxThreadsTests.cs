using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>ONNX Runtime's scoring sessions follow the CPUs .NET counts for the process — a container's CPU quota,
/// DOTNET_PROCESSOR_COUNT — where that is fewer than the CPUs the process may run on, unless the user chose a count
/// (ORT_INTRA_OP_NUM_THREADS, or session options on the context); the web API template's twin decides alike.</summary>
public class OnnxThreadsTests
{
    [Theory]
    [InlineData(2, 64, null, 2)]     // a 2-CPU limit on a 64-core node
    [InlineData(2, 2, null, null)]   // nothing to cut: ONNX Runtime's own count stands
    [InlineData(4, 2, null, null)]   // never more than the CPUs the process may run on
    [InlineData(2, 64, "16", null)]  // ORT_INTRA_OP_NUM_THREADS: the user's choice, which ONNX Runtime follows
    [InlineData(2, 64, " ", 2)]      // a blank variable chooses nothing
    public void The_pool_follows_the_cpu_quota_unless_the_user_chose(int processorCount, int affinityCpus, string? variable, int? expected)
    {
        string? Environment(string name) => name == OnnxThreads.UserVariable ? variable : null;
        Assert.Equal(expected, OnnxThreads.Decide(processorCount, affinityCpus, Environment));
        Assert.Equal(expected, WebApi.OnnxThreads.Decide(processorCount, affinityCpus, Environment));
    }

    [Theory]
    [InlineData("0-1", 2)]
    [InlineData(" 0-3,8,10-11\n", 7)]
    [InlineData("5", 1)]
    [InlineData("0-63,128-191", 128)]
    [InlineData("", 0)]
    [InlineData("3-1", 0)]
    [InlineData("0-1-2", 0)]
    [InlineData("ff", 0)]
    public void The_kernels_cpu_list_is_counted(string list, int expected)
    {
        Assert.Equal(expected, OnnxThreads.CountCpuList(list));
        Assert.Equal(expected, WebApi.OnnxThreads.CountCpuList(list));
    }

    [Fact]
    public void A_context_gets_the_count_unless_it_carries_session_options_of_the_users()
    {
        var mlContext = new MLContext();
        Assert.Null(OnnxThreads.Apply(mlContext, threads: null));
        Assert.Null(mlContext.GetOnnxSessionOption());
        Assert.Equal(3, OnnxThreads.Apply(mlContext, threads: 3));
        Assert.Equal(3, mlContext.GetOnnxSessionOption().IntraOpNumThreads);

        var users = new MLContext();
        users.SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 7 });
        Assert.Null(OnnxThreads.Apply(users, threads: 3));
        Assert.Equal(7, users.GetOnnxSessionOption().IntraOpNumThreads);
        Assert.Null(OnnxThreads.For(users));

        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(OnnxThreads.UserVariable)))
            Assert.Equal(1, MlNetTransfer.Cli.WorkFolder.NewContext(seed: 1).GetOnnxSessionOption().IntraOpNumThreads); // the CLI's engines, one per CPU
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void The_cli_scores_one_image_per_cpu_at_once_each_on_one_thread_unless_the_user_chose()
    {
        static string Info(params (string Name, string Value)[] variables) => CliInfo.Run([OnnxThreads.UserVariable], variables);

        // DOTNET_PROCESSOR_COUNT limits .NET's count as a CPU quota does (a quota needs a cgroup the test cannot make)
        Assert.Contains("1 ONNX Runtime thread a run, 1 run(s) at once", Info(("DOTNET_PROCESSOR_COUNT", "1")));
        Assert.Contains("3 ONNX Runtime threads a run (ORT_INTRA_OP_NUM_THREADS), 2 run(s) at once",
            Info(("DOTNET_PROCESSOR_COUNT", "2"), ("ORT_INTRA_OP_NUM_THREADS", "3")));
    }
}

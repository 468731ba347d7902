using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Native;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>`mlnet-transfer info`, driven in-process.</summary>
public class InfoCommandTests
{
    static (int ExitCode, string Output) Run(params string[] args)
    {
        var console = new TestConsole().Width(200);
        var exit = CliApp.Create(console).Run(args);
        return (exit, console.Output);
    }

    [Fact]
    public void Info_json_reports_versions_compatibility_threads_and_cuda()
    {
        var (exit, output) = Run("info", "--json");

        Assert.Equal(ExitCodes.Success, exit);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Matches(@"^\d+\.\d+\.\d+$", root.GetProperty("mlNetTransferVersion").GetString());
        Assert.Equal("0.107.0", root.GetProperty("torchSharpVersion").GetString());
        Assert.Equal("2.10.0", root.GetProperty("libTorchVersion").GetString());
        Assert.Equal("5.0.1", root.GetProperty("mlNetVersion").GetString());
        Assert.Equal("1.31.1", root.GetProperty("onnxRuntimeVersion").GetString());
        var systemHasIt = SystemLibStdCpp.HasRequiredVersion(out _);
        Assert.Equal(!systemHasIt, root.GetProperty("compatibilityStepApplied").GetBoolean());
        Assert.True(root.GetProperty("torchThreads").GetInt32() >= 1);
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("processorCount").GetInt32());
        Assert.Equal(TorchSharp.torch.cuda.is_available(), root.GetProperty("cudaAvailable").GetBoolean());
    }

    [Fact]
    public void Info_table_names_every_component()
    {
        var (exit, output) = Run("info");

        Assert.Equal(ExitCodes.Success, exit);
        foreach (var row in new[] { "mlnet-transfer", "TorchSharp", "libtorch", "ML.NET", "ONNX Runtime", "compatibility step", "CPU threads", "CUDA" })
            Assert.Contains(row, output);
    }

    [Fact]
    public void The_tool_runs_with_the_garbage_collector_compacting_its_large_object_heap_and_info_says_so()
    {
        // the tool's runtimeconfig.json asks for it (the default run's peak memory about 15 % lower); a process of its
        // own, as a user runs it — the test host has its own settings
        Assert.Contains("garbage collector workstation, background, conserve memory 7 of 9 (compacts the large-object heap when fragmented)",
            CliInfo.Run(["DOTNET_GCConserveMemory"]));
        Assert.Contains("conserve memory 0 of 9 (off; DOTNET_GCConserveMemory)", CliInfo.Run([], ("DOTNET_GCConserveMemory", "0")));
    }

    [Fact]
    public void The_version_option_prints_the_products_version_alone()
    {
        var (exit, output) = Run("--version");

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal(Runtime.RuntimeReport.ProductVersion, output.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+$", output.Trim()); // the project's Version, no source revision
    }

    [Fact]
    public void Unknown_option_fails_with_a_message()
    {
        var (exit, output) = Run("info", "--no-such-option");

        Assert.NotEqual(ExitCodes.Success, exit);
        Assert.Contains("no-such-option", output);
    }
}

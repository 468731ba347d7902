using MlNetTransfer.Cli.Reporting;
using System.ComponentModel;
using System.Text.Json;
using MlNetTransfer.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary><c>info</c>: what this installation runs on.</summary>
public sealed class InfoCommand(IAnsiConsole console) : Command<InfoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--json")]
        [Description("Print the report as JSON (for scripts and CI logs).")]
        public bool Json { get; init; }

        [CommandOption("--verbose")]
        [Description("Report libtorch's C++ log level as train, evaluate and predict have it with --verbose.")]
        public bool Verbose { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Verbose) Runtime.LibTorchLogLevel.ShowWarnings();
        RuntimeReport report;
        try
        {
            report = RuntimeReport.Collect();
        }
        catch (TorchLoadException e)
        {
            console.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.TorchUnavailable;
        }

        if (settings.Json)
        {
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(report, CliJson.Indented));
            return ExitCodes.Success;
        }

        var rows = new (string Name, string Value)[]
        {
            ("mlnet-transfer", report.MlNetTransferVersion),
            ("TorchSharp", report.TorchSharpVersion),
            ("libtorch", report.ExternalLibTorchPath == null ? report.LibTorchVersion
                : $"{report.LibTorchVersion} from {report.ExternalLibTorchPath} ({ExternalLibTorch.EnvironmentVariable})"),
            ("ML.NET", report.MlNetVersion),
            ("ONNX Runtime", $"{report.OnnxRuntimeVersion} ({string.Join(", ", MlNet.ScoringDevice.AvailableProviders())}; predict and evaluate --device)"),
            ("system libstdc++", $"{report.SystemLibStdCppPath ?? "not found"} ({(report.SystemHasRequiredGlibcxx ? "has" : "lacks")} GLIBCXX_3.4.32)"),
            ("libLibTorchSharp.so", report.LibTorchSharpPath ?? "not found"),
            ("compatibility step", CompatibilityLine(report)),
            ("CPU threads", $"{report.TorchThreads} torch intra-op threads, {report.ProcessorCount} CPUs usable"), // .NET's count: affinity and CPU quota
            ("scoring threads", ScoringThreads()),
            ("garbage collector", GarbageCollector()),
            ("oneDNN convolutions", Runtime.OneDnnGuard.Describe()),
            ("libtorch C++ log", Runtime.LibTorchLogLevel.Describe()),
            ("CUDA", report.CudaAvailable ? $"available, {report.CudaDeviceCount} device(s)" : "not available (CPU only)"),
        };
        var table = new Table().AddColumn("component").AddColumn("value");
        foreach (var (name, value) in rows)
            table.AddRow(new Text(name), new Text(value)); // Text, not markup: paths may hold '['
        console.Write(table);
        return ExitCodes.Success;
    }

    /// <summary>How predict, evaluate and train's test score here: one engine per CPU at once, each run on one ONNX
    /// Runtime thread unless ORT_INTRA_OP_NUM_THREADS says otherwise (<see cref="Runtime.OnnxThreads.ApplyOnePerRun"/>).</summary>
    static string ScoringThreads() =>
        (Environment.GetEnvironmentVariable(Runtime.OnnxThreads.UserVariable) is { } chosen && !string.IsNullOrWhiteSpace(chosen)
            ? $"{chosen.Trim()} ONNX Runtime threads a run ({Runtime.OnnxThreads.UserVariable})" : "1 ONNX Runtime thread a run") +
        $", {Environment.ProcessorCount} run(s) at once";

    /// <summary>The GC as this process runs it (runtimeconfig.json or DOTNET_GC* variables): the tool asks it to
    /// compact the large-object heap when fragmented (MlNetTransfer.csproj), which lowers a run's peak memory.</summary>
    static string GarbageCollector()
    {
        var settings = GC.GetConfigurationVariables();
        bool server = settings.TryGetValue("ServerGC", out var s) && s is true, background = settings.TryGetValue("ConcurrentGC", out var c) && c is true;
        long conserve = settings.TryGetValue("GCConserveMem", out var m) ? Convert.ToInt64(m, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return $"{(server ? "server" : "workstation")}{(background ? ", background" : "")}, conserve memory {conserve} of 9 " +
               (conserve > 0 ? "(compacts the large-object heap when fragmented)" : "(off; DOTNET_GCConserveMemory)");
    }

    static string CompatibilityLine(RuntimeReport report) => report.CompatibilityState switch
    {
        Native.LibTorchSharpCompatState.Applied => "applied (GLIBCXX_3.4.32 need made weak)",
        Native.LibTorchSharpCompatState.Stock => "not applied (the library is as shipped; fine where libstdc++ has GLIBCXX_3.4.32)",
        Native.LibTorchSharpCompatState.NotNeeded => "not needed (this TorchSharp build asks for no GLIBCXX_3.4.32)",
        _ => "unknown (library not found)",
    };
}

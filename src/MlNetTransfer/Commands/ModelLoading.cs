using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Opens a model.zip written by `train`: ML.NET loads it, and its ONNX metadata gives the class order of Score.</summary>
public static class ModelLoading
{
    /// <summary>What --device of predict and evaluate says, for their help.</summary>
    public const string DeviceHelp = "Where ONNX Runtime scores: cpu (default), cuda or cuda:N (its CUDA provider, in a build with ONNX Runtime's GPU " +
                                     "package: docs/gpu-and-libtorch.md), or auto (CUDA where it starts, else the CPU).";

    /// <summary>--device of predict and evaluate, checked before any work: a device this build cannot score on is
    /// refused here (exit 8), not after the images were listed.</summary>
    public static (DeviceKind Kind, int? GpuDeviceId) CheckDevice(string device)
    {
        var (kind, gpuDeviceId) = DeviceOption.Parse(device);
        ScoringDevice.Decide(kind, gpuDeviceId);
        return (kind, gpuDeviceId);
    }

    /// <summary>What the model at <paramref name="path"/> says it is (classes, preprocessing), read from its ONNX
    /// metadata without loading it: a missing file or one `train` did not write is refused with 7.</summary>
    public static OnnxMetadata ReadInfo(string path)
    {
        if (!File.Exists(path)) throw new CliException(ExitCodes.BadModel, $"{path}: model file not found.");
        try
        {
            return TransferModelFile.ReadMetadata(path);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.BadModel, $"{path} is not a model written by mlnet-transfer train: {e.Message}");
        }
    }

    /// <summary>Loads <paramref name="path"/> on the device <paramref name="device"/> (from <see cref="CheckDevice"/>)
    /// asks for (<see cref="ScoringDevice"/>); says where it landed unless that is the CPU it was asked for.</summary>
    public static (ITransformer Model, OnnxMetadata Info) Load(MLContext mlContext, string path, (DeviceKind Kind, int? GpuDeviceId) device,
        IAnsiConsole console)
    {
        var (kind, gpuDeviceId) = device;
        var info = ReadInfo(path);
        ITransformer model;
        DeviceChoice choice;
        try
        {
            (model, choice) = ScoringDevice.Load(mlContext, path, kind, gpuDeviceId); // DeviceUnavailableException: exit 8, its reason
        }
        catch (Exception e) when (e is not DeviceUnavailableException && e is InvalidOperationException or FormatException or InvalidDataException or EndOfStreamException)
        {
            // ML.NET's loader on a damaged entry: "Error during class instantiation" around what it could not read
            throw new CliException(ExitCodes.BadModel, $"{path} could not be loaded: {e.GetBaseException().Message.Split('\n')[0].Trim().TrimEnd('.')}; " +
                "the file is damaged (copy it again, or train again)");
        }
        if (kind != DeviceKind.Cpu) console.MarkupLine($"[grey]scoring on {Markup.Escape(choice.Device)}: {Markup.Escape(choice.Reason)}[/]");
        return (model, info);
    }
}

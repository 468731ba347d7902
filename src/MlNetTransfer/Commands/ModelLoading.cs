using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Opens a model.zip written by `train`: ML.NET loads it, and its ONNX metadata gives the class order of Score.</summary>
public static class ModelLoading
{
    public static (ITransformer Model, OnnxMetadata Info) Load(MLContext mlContext, string path)
    {
        if (!File.Exists(path)) throw new CliException(ExitCodes.BadModel, $"{path}: model file not found.");
        OnnxMetadata info;
        try
        {
            info = TransferModelFile.ReadMetadata(path);
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.BadModel, $"{path} is not a model written by mlnet-transfer train: {e.Message}");
        }
        return (mlContext.Model.Load(path, out _), info);
    }
}

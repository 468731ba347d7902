namespace MlNetTransfer.Engine.Onnx;

/// <summary>Names of the exported model's input and outputs.</summary>
public sealed record OnnxExportNames(
    string Input = OnnxExporter.InputName,
    string Score = OnnxExporter.ScoreName,
    string PredictedIndex = OnnxExporter.PredictedIndexName,
    string Unfamiliar = OnnxExporter.UnfamiliarName);

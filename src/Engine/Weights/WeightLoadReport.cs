namespace MlNetTransfer.Engine.Weights;

/// <summary>What loading a state dict did: how many tensors were copied, and whether the classifier was skipped
/// because the file was trained for another number of classes.</summary>
public sealed record WeightLoadReport(string Source, int Loaded, bool HeadSkipped, string? HeadNote);

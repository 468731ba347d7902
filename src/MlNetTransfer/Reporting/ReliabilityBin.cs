namespace MlNetTransfer.Cli.Reporting;

/// <summary>One bin of a reliability diagram: the images whose top score falls in [Low, High), how often they were
/// right, and their mean top score (a calibrated model has the two equal).</summary>
public sealed record ReliabilityBin(double Low, double High, int Images, double Accuracy, double Confidence);

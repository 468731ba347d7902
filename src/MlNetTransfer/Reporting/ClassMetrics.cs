namespace MlNetTransfer.Cli.Reporting;

/// <summary>Precision, recall and F1 of one class, with its support (test images of that class).</summary>
public sealed record ClassMetrics(string Class, double Precision, double Recall, double F1, int Support);

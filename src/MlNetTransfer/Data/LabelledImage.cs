namespace MlNetTransfer.Cli.Data;

/// <summary>One row for ML.NET: an image path relative to <see cref="LabelledImageSet.Root"/> and its class.</summary>
public sealed class LabelledImage
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

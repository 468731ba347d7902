namespace MlNetTransfer.Tests;

/// <summary>What PredictionEngine returns for an image.</summary>
public sealed class ImagePrediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}

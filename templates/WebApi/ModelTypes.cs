using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace WebApi;

/// <summary>What the model reads once its LoadImages step is left out: the decoded picture.</summary>
public sealed class ImageInput
{
    [ImageType(1, 1)] // any size: ML.NET does not check the one declared
    public MLImage? Image { get; set; }
}

/// <summary>What the model writes: the class and one probability per class, in <see cref="ImageClassifier.Classes"/> order.</summary>
public sealed class ModelOutput
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}

/// <summary>The answer to POST /predict: the class, its probability, whether that reaches Model:MinScore, then every class
/// with its probability, most likely first.</summary>
public sealed record Prediction(string PredictedLabel, float Score, bool Sure, IReadOnlyList<ClassScore> Scores);

public sealed record ClassScore(string Label, float Score);

/// <summary>The answer to GET /health.</summary>
public sealed record Health(string Status, string Model, IReadOnlyList<string> Classes);

/// <summary>The answer to a request that cannot be served: why, in words.</summary>
public sealed record ApiError(string Error);

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

    /// <summary>Whether the image is unlike every image the model was trained on (false where the model does not say).</summary>
    public bool Unfamiliar { get; set; }
}

/// <summary>The answer to POST /predict: the class, its probability, whether the answer is sure (the probability
/// reaches Model:MinScore and the image is not unfamiliar), whether the image is unlike every image the model was
/// trained on (null for a model that does not say), then every class with its probability, most likely first.</summary>
public sealed record Prediction(string PredictedLabel, float Score, bool Sure, bool? Unfamiliar, IReadOnlyList<ClassScore> Scores);

public sealed record ClassScore(string Label, float Score);

/// <summary>The answer to GET /health: the model file served, its classes in score order, the side it decodes images
/// for, when it was loaded, and why a newer file at its path is not served (null when none is waiting).</summary>
public sealed record Health(string Status, string Model, IReadOnlyList<string> Classes, int ImageSize, DateTimeOffset Loaded, string? ReloadError);

/// <summary>The answer to a request that cannot be served: why, in words.</summary>
public sealed record ApiError(string Error);

namespace MlNetTransfer.Engine.Recipe;

/// <summary>One view a model compares images by to call them unfamiliar (<see cref="Familiarity"/>): the input of the
/// module <paramref name="Tap"/> (a feature map averaged over the image), for the sample's training images.</summary>
/// <param name="Tap">The module whose input this is: the classifier's, or the architecture's
/// <see cref="Architectures.Architecture.FamiliarTap"/>.</param>
/// <param name="Width">How many features each image has here.</param>
/// <param name="Reference">The sample's features, rows × <paramref name="Width"/>, row by row, unit length.</param>
/// <param name="MinSimilarity">The cosine similarity to the compared neighbour under which an image is unfamiliar.</param>
/// <param name="Flagged">How many of the images the limit was measured on lie past it.</param>
public sealed record FamiliarLayer(string Tap, int Width, float[] Reference, double MinSimilarity, int Flagged)
{
    /// <summary>Whether the limit is the measured images' farthest <see cref="Health.Outliers.MostPastUnfamiliarLimit"/>
    /// rather than the robust deviations past their median, which lay nearer (near copies in the data narrow that spread,
    /// a long tail of ordinary images lies past it).</summary>
    public bool AtFarthest { get; init; }

    public string Describe() => $"{Tap}'s input ({Width} features, similarity {MinSimilarity:0.000}, {Flagged} past it" +
        (AtFarthest ? $"; set by the farthest {Health.Outliers.MostPastUnfamiliarLimit:P1}: the robust spread alone would put more past it)" : ")");
}

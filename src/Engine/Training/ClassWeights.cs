namespace MlNetTransfer.Engine.Training;

/// <summary>Per-class loss weights for imbalanced data.</summary>
public static class ClassWeights
{
    /// <summary>N / (C · n_c): each class contributes as much to the loss as it would in a balanced set.
    /// A class with no rows gets the weight of a class with one.</summary>
    public static float[] Balanced(IReadOnlyList<long> counts)
    {
        double n = counts.Sum(), c = counts.Count;
        return counts.Select(k => (float)(n / (c * Math.Max(k, 1)))).ToArray();
    }

    /// <summary>What to tell a user whose largest class has at least 5 times the images of the smallest, or null: the
    /// unweighted loss favours the large classes (on Fashion-MNIST with five classes of 20 images and five of 200, the
    /// rare Shirt was recalled 9.9 % of the time, 31.0 % with balanced weights, and a balanced test scored 84.3 %
    /// instead of 81.9 %). Not the default: where the images to classify come in the training proportions, the
    /// unweighted loss is the right one.</summary>
    public static string? ImbalanceNote(IReadOnlyList<long> counts, IReadOnlyList<string> classes)
    {
        var sorted = counts.Select((n, c) => (Images: n, Class: classes[c])).Where(c => c.Images > 0)
            .OrderBy(c => c.Images).ThenBy(c => c.Class, StringComparer.Ordinal).ToList();
        if (sorted.Count < 2 || sorted[^1].Images < 5 * sorted[0].Images) return null;
        return $"classes are imbalanced: {sorted[^1].Class} has {sorted[^1].Images} training images, {sorted[0].Class} {sorted[0].Images}; " +
            "the loss favours the large classes, which is right when the images to classify come in these proportions — " +
            "balanced class weights (--balance-classes, BalanceClasses) weigh every class equally when each matters as much";
    }
}

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
}

namespace MlNetTransfer.Engine.Training;

/// <summary>Splits row indices into train and validation keeping each class's share, reproducibly for a seed.
/// Every class with at least two rows puts at least one in each part.</summary>
public static class StratifiedSplit
{
    public static (List<long> Train, List<long> Validation) Split(IReadOnlyList<long> labels, double validationFraction, int seed)
    {
        if (validationFraction is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "must be between 0 and 1 (exclusive)");
        var random = new Random(seed);
        var train = new List<long>();
        var validation = new List<long>();
        foreach (var rows in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var shuffled = rows.Select(i => (long)i).ToArray();
            random.Shuffle(shuffled);
            int take = shuffled.Length < 2 ? 0 : Math.Clamp((int)Math.Round(shuffled.Length * validationFraction), 1, shuffled.Length - 1);
            validation.AddRange(shuffled.Take(take));
            train.AddRange(shuffled.Skip(take));
        }
        train.Sort();
        validation.Sort();
        return (train, validation);
    }
}

namespace MlNetTransfer.Engine.Training;

/// <summary>Splits row indices into train and validation keeping each class's share, reproducibly for a seed.
/// Every class with at least two rows puts at least one in each part.</summary>
public static class StratifiedSplit
{
    /// <summary>The rows the recipe fits on and the rows it validates on, for labels in row order: a stratified draw of
    /// <paramref name="validationFraction"/> for the seed, or every row to fit when the fraction is 0 (the same split
    /// whoever asks: a job exported for torchrun holds out the rows `train` would).</summary>
    public static (long[] Fit, long[] Validation) FitAndValidation(IReadOnlyList<long> labels, double validationFraction, int seed)
    {
        if (validationFraction <= 0) return (Enumerable.Range(0, labels.Count).Select(i => (long)i).ToArray(), []);
        var (fit, validation) = Split(labels, validationFraction, seed);
        return (fit.ToArray(), validation.ToArray());
    }

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

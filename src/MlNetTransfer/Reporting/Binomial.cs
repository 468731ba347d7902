namespace MlNetTransfer.Cli.Reporting;

/// <summary>The exact binomial tail a one-sided test of an accuracy needs (<see cref="TargetAccuracy"/>).</summary>
public static class Binomial
{
    /// <summary>P(X ≥ <paramref name="successes"/>) for X ~ Binomial(<paramref name="trials"/>, <paramref name="p"/>): how
    /// likely that many right answers or more are from a model right only <paramref name="p"/> of the time. Summed in
    /// log space from the terms' recurrence, exact to rounding for any number of trials.</summary>
    public static double UpperTail(int trials, int successes, double p)
    {
        if (trials < 0 || successes < 0) throw new ArgumentOutOfRangeException(nameof(trials), $"{successes} of {trials}: counts cannot be negative");
        if (!(p is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(p), $"a probability between 0 and 1, not {p}");
        if (successes == 0) return 1;
        if (successes > trials) return 0;
        // log P(X = k) from k = 0 up: log C(n, k+1) = log C(n, k) + log((n − k) / (k + 1))
        double logTerm = trials * Math.Log(1 - p), logOdds = Math.Log(p) - Math.Log(1 - p);
        for (int k = 0; k < successes; k++) logTerm += Math.Log((double)(trials - k) / (k + 1)) + logOdds;
        // the terms from there up summed as exp(largest) · sum, the largest so far factored out
        double largest = logTerm, sum = 1;
        for (int k = successes; k < trials; k++)
        {
            logTerm += Math.Log((double)(trials - k) / (k + 1)) + logOdds;
            if (logTerm > largest) (sum, largest) = (sum * Math.Exp(largest - logTerm) + 1, logTerm);
            else sum += Math.Exp(logTerm - largest);
        }
        return Math.Min(1, Math.Exp(largest + Math.Log(sum)));
    }
}

namespace MlNetTransfer.Engine.Training;

/// <summary>How the learning rate moves over the run.</summary>
public enum LearningRateSchedule
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Cosine annealing from the base rate to zero.</summary>
    Cosine,
    /// <summary>One-cycle (Smith 2018): cosine warm-up from base/25 to base over the first 25 % of steps, then
    /// cosine annealing to base/(25·10⁴).</summary>
    OneCycle,
}

/// <summary>The multiplier on the base rate at each step.</summary>
public static class LearningRateScheduleExtensions
{
    public const double WarmupFraction = 0.25, DivFactor = 25, FinalDivFactor = 1e4;

    /// <summary>The factor at step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public static double Factor(this LearningRateSchedule schedule, long step, long totalSteps)
    {
        if (totalSteps <= 1) return 1;
        double t = Math.Clamp((double)step / (totalSteps - 1), 0, 1);
        switch (schedule)
        {
            case LearningRateSchedule.Constant:
                return 1;
            case LearningRateSchedule.Cosine:
                return 0.5 * (1 + Math.Cos(Math.PI * t));
            case LearningRateSchedule.OneCycle:
                double start = 1 / DivFactor, end = start / FinalDivFactor;
                if (t < WarmupFraction) return Anneal(start, 1, t / WarmupFraction);
                return Anneal(1, end, (t - WarmupFraction) / (1 - WarmupFraction));
            default:
                throw new ArgumentOutOfRangeException(nameof(schedule), schedule, null);
        }
    }

    /// <summary>The step at which the rate peaks.</summary>
    public static long PeakStep(this LearningRateSchedule schedule, long totalSteps) =>
        schedule == LearningRateSchedule.OneCycle ? (long)Math.Ceiling(WarmupFraction * (totalSteps - 1)) : 0;

    /// <summary>The first step past the peak at which the rate has annealed to half the base rate (0 for a constant
    /// rate). Before it, an epoch that validates worse is the high rate's noise, not a sign to stop: early stopping
    /// counts its patience from here (measured: counting from the peak stopped a 10-epoch one-cycle run at epoch 5,
    /// 78.5 % where the whole run reached 85 %). At most the last step, so the last epoch always counts: a run of one
    /// step (one batch, one epoch) trains at the base rate throughout and would otherwise keep nothing it trained.</summary>
    public static long AnnealedStep(this LearningRateSchedule schedule, long totalSteps)
    {
        if (schedule == LearningRateSchedule.Constant) return 0;
        for (long step = schedule.PeakStep(totalSteps); step < totalSteps; step++)
            if (schedule.Factor(step, totalSteps) <= 0.5) return step;
        return Math.Max(totalSteps - 1, 0);
    }

    static double Anneal(double from, double to, double t) => to + (from - to) / 2 * (1 + Math.Cos(Math.PI * t));
}

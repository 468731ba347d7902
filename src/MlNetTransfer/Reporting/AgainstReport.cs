namespace MlNetTransfer.Cli.Reporting;

/// <summary>A model compared with another on the same labelled images (`evaluate --against`, `train --against`):
/// the paired comparison and what answering only when sure gets the other model there.</summary>
/// <param name="Model">The other model's path, as given.</param>
/// <param name="Comparison">This model against it, image by image.</param>
/// <param name="SureAnswers">What answering at the same minimum score gets the other model on the same images.</param>
public sealed record AgainstReport(string Model, ModelComparison Comparison, SureAnswers SureAnswers)
{
    /// <summary>The comparison's sentences and the other model's sure answers.</summary>
    public string Describe() => $"{Comparison.Describe(Model)} Its sure answers: {SureAnswers.Describe()}.";

    /// <summary>What the JSON of `evaluate` and metrics.json hold as `against`.</summary>
    public object Document()
    {
        var c = Comparison;
        return new
        {
            Model, c.Images, c.Accuracy, c.AgainstAccuracy, c.Fixed, c.Broken, c.PValue, c.AccuracyDiffers, c.LogLoss, c.AgainstLogLoss,
            LogLossDifference = new { Low = c.LogLossDifferenceLow, High = c.LogLossDifferenceHigh }, c.LogLossDiffers, c.LeftOut,
            AgainstSureAnswers = SureAnswers,
        };
    }
}

namespace MlNetTransfer.Cli.Reporting;

/// <summary>Whether a model's test accuracy is any better than always answering the test set's most frequent class:
/// better only when it beats that rate by more than two standard errors of it on this many images. A model that is not
/// has learnt nothing it can be trusted with, whatever its report says otherwise (its calibrated scores, for one, are
/// then honestly flat).</summary>
public sealed record ChanceCheck(string MostFrequentClass, double BaselineAccuracy, double Accuracy, int Images)
{
    public static ChanceCheck Of(ClassificationReport test)
    {
        var top = test.PerClass.MaxBy(c => c.Support) ?? throw new ArgumentException("a report without classes", nameof(test));
        int images = test.PerClass.Sum(c => c.Support);
        return new ChanceCheck(top.Class, images == 0 ? 0 : (double)top.Support / images, test.MicroAccuracy, images);
    }

    /// <summary>Two standard errors of the baseline's accuracy on <see cref="Images"/> images.</summary>
    public double Margin => Images == 0 ? 0 : 2 * Math.Sqrt(BaselineAccuracy * (1 - BaselineAccuracy) / Images);

    public bool NoBetterThanGuessing => Images > 0 && Accuracy <= BaselineAccuracy + Margin;

    public string Describe() =>
        $"test accuracy {Accuracy:P1} against {BaselineAccuracy:P1} for always answering '{MostFrequentClass}' ({Images} test images): " +
        "the model has learnt nothing it can be trusted with; train longer, start from pretrained weights, or check the labels";
}

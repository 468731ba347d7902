using MlNetTransfer.Engine.Health;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// What the saved model needs to say "unfamiliar" per image: a calibrated score cannot keep out images of classes the
/// model never saw (a Fashion-MNIST model answers a quarter of desktop icons at Score ≥ 0.9), so the model carries a
/// sample of its training images' features — the inputs of its classifier, unit length — and an image is unfamiliar
/// when its <see cref="Neighbours"/>-th nearest of them is less similar (cosine) than <see cref="MinSimilarity"/>.
/// The limit lies <see cref="Spread"/> robust deviations above the median distance of images the sample does not hold:
/// the validation images, or without them the training images' own distances (leaving each out). The same rule as
/// <c>check --test</c>'s unfamiliar test images (<see cref="Outliers"/>), on the trained network's features.
/// </summary>
/// <param name="Reference">The sample's features, <paramref name="Rows"/> × <paramref name="Width"/>, row by row, unit length.</param>
/// <param name="Rows">How many training images the sample holds.</param>
/// <param name="Width">How many features each has: the classifier's input width.</param>
/// <param name="Neighbours">Which nearest sample image an image is compared by (the 5th; fewer in a smaller sample).</param>
/// <param name="MinSimilarity">The cosine similarity to that neighbour under which an image is unfamiliar.</param>
/// <param name="Basis">What the limit was measured on: "validation" or "training" images.</param>
/// <param name="Measured">How many images of the basis were measured.</param>
/// <param name="Flagged">How many of those lie past the limit.</param>
public sealed record Familiarity(float[] Reference, int Rows, int Width, int Neighbours, double MinSimilarity, string Basis, int Measured, int Flagged)
{
    /// <summary>How many robust deviations above the basis's median an image's distance must lie to be unfamiliar.</summary>
    public const double Spread = 4;

    /// <summary>At most this many training images in the sample …</summary>
    public const int MaxRows = 2000;

    /// <summary>… and at most this many numbers (16 MB in the model: 2 000 images of ResNet's 512 features, 1 000 of
    /// AlexNet's or VGG's 4 096).</summary>
    public const long MaxValues = 4_000_000;

    /// <summary>Fewer validation images than this measure the limit on the training images instead.</summary>
    public const int MinValidation = 20;

    /// <summary>The training images the sample holds, of <paramref name="count"/> with <paramref name="width"/> features
    /// each: every one, or a seeded random draw (in order) when there are more than the sample holds.</summary>
    public static long[] Sample(long count, long width, int seed)
    {
        long rows = Math.Min(count, Math.Min(MaxRows, MaxValues / Math.Max(width, 1)));
        if (rows == count) return [.. Enumerable.Range(0, (int)count).Select(i => (long)i)];
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed ^ 0xFA_3111_A51EUL);
        return randperm(count, generator: generator).narrow(0, 0, rows).sort().Values.data<long>().ToArray();
    }

    /// <summary>The model's reference from the <see cref="Sample"/>'s features (<paramref name="reference"/>), the limit
    /// measured on <paramref name="validation"/>'s when there are enough of them; null when there are too few images or
    /// their distances do not spread (nothing to measure a limit on).</summary>
    public static Familiarity? Fit(Tensor reference, Tensor? validation)
    {
        using var scope = NewDisposeScope();
        int k = (int)Math.Min(Outliers.Neighbours, reference.shape[0] - 1);
        if (k < 1) return null;
        var unit = Outliers.Normalized(reference);
        bool onValidation = validation is not null && validation.shape[0] >= MinValidation;
        var distances = onValidation ? Outliers.KthNearest(Outliers.Normalized(validation!), unit, k) : Outliers.KthNearest(unit, unit, k + 1);
        var (median, mad) = Outliers.RobustSpread(distances);
        if (!(mad > 0)) return null;
        double limit = median + Spread * mad;
        return new Familiarity(unit.contiguous().data<float>().ToArray(), (int)unit.shape[0], (int)unit.shape[1], k, 1 - limit,
            onValidation ? "validation" : "training", distances.Length, distances.Count(d => d > limit));
    }

    /// <summary>Whether an image with these classifier inputs is unfamiliar (what the exported graph computes).</summary>
    public bool[] Unfamiliar(Tensor features)
    {
        using var scope = NewDisposeScope();
        using var reference = tensor(Reference, [Rows, Width]);
        return Outliers.KthNearest(Outliers.Normalized(features), reference, Neighbours).Select(d => 1 - d < MinSimilarity).ToArray();
    }

    public string Describe() =>
        $"an image is unfamiliar when its {Neighbours}th nearest of {Rows} training images has a cosine similarity under {MinSimilarity:0.000} " +
        $"({Spread} robust deviations past the {Basis} images' median distance; {Flagged} of the {Measured} {Basis} images lie past it)";
}

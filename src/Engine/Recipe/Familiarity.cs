using MlNetTransfer.Engine.Health;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// What the saved model needs to say "unfamiliar" per image: a calibrated score cannot keep out images of classes the
/// model never saw (a Fashion-MNIST model answers a quarter of desktop icons at Score ≥ 0.9), so the model carries a
/// sample of its training images' features in each of its <see cref="Layers"/> (unit length) and an image is
/// unfamiliar when, in any of them, its <see cref="Neighbours"/>-th nearest sample image is less similar (cosine) than
/// that layer's limit. A limit lies <see cref="Spread"/> robust deviations above the median distance of images the
/// sample does not hold — the validation images, or without them the training images' own distances (leaving each
/// out) —, and never inside those images' farthest <see cref="Outliers.MostPastUnfamiliarLimit"/>.
/// The same rule as <c>check --test</c>'s unfamiliar test images (<see cref="Outliers"/>), on the trained network.
/// </summary>
/// <param name="Layers">The views compared: the classifier's input and a mid-level one (<see cref="Architectures.Architecture.FamiliarTap"/>).</param>
/// <param name="Rows">How many training images the sample holds.</param>
/// <param name="Neighbours">Which nearest sample image an image is compared by (the 5th; fewer in a smaller sample).</param>
/// <param name="Basis">What the limits were measured on: "validation" or "training" images.</param>
/// <param name="Measured">How many images of the basis were measured.</param>
/// <param name="Flagged">How many of those lie past a limit.</param>
public sealed record Familiarity(IReadOnlyList<FamiliarLayer> Layers, int Rows, int Neighbours, string Basis, int Measured, int Flagged)
{
    /// <summary>How many robust deviations above the basis's median an image's distance must lie to be unfamiliar.</summary>
    public const double Spread = 4;

    /// <summary>At most this many training images in the sample …</summary>
    public const int MaxRows = 2000;

    /// <summary>… and at most this many numbers over all layers (16 MB in the model: 2 000 images of ResNet's 512 + 256
    /// features, 1 000 of AlexNet's 4 096 + 192).</summary>
    public const long MaxValues = 4_000_000;

    /// <summary>Fewer validation images than this measure the limit on the training images instead.</summary>
    public const int MinValidation = 20;

    /// <summary>The images the sample holds, of <paramref name="count"/> with <paramref name="width"/> features each (all
    /// layers): every one, or a seeded random draw (in order) when there are more than the sample holds.
    /// <paramref name="maxRows"/> bounds the draw (validation images are drawn the same way).</summary>
    public static long[] Sample(long count, long width, int seed, int maxRows = MaxRows)
    {
        long rows = Math.Min(count, Math.Min(maxRows, MaxValues / Math.Max(width, 1)));
        if (rows == count) return [.. Enumerable.Range(0, (int)count).Select(i => (long)i)];
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed ^ 0xFA_3111_A51EUL);
        return randperm(count, generator: generator).narrow(0, 0, rows).sort().Values.data<long>().ToArray();
    }

    /// <summary>The model's reference from the <see cref="Sample"/>'s features in each layer (<paramref name="layers"/>:
    /// the tap, the sample's features, the validation images' or null), each limit measured on the validation images
    /// when there are enough of them; null when there are too few images or when in a layer all but the farthest
    /// <see cref="Outliers.MostPastUnfamiliarLimit"/> of the distances are one (nothing to measure a limit on; more
    /// than half of them one, as exact copies give, leaves the farthest to set it).</summary>
    public static Familiarity? Fit(IReadOnlyList<(string Tap, Tensor Reference, Tensor? Validation)> layers)
    {
        using var scope = NewDisposeScope();
        long rows = layers[0].Reference.shape[0];
        int k = (int)Math.Min(Outliers.Neighbours, rows - 1);
        if (k < 1) return null;
        bool onValidation = layers[0].Validation is { } v && v.shape[0] >= MinValidation;
        var fitted = new List<FamiliarLayer>();
        bool[]? flagged = null;
        foreach (var (tap, reference, validation) in layers)
        {
            var unit = Outliers.Normalized(reference);
            var distances = onValidation ? Outliers.KthNearest(Outliers.Normalized(validation!), unit, k) : Outliers.KthNearest(unit, unit, k + 1);
            var (median, mad) = Outliers.RobustSpread(distances);
            var (limit, atFarthest) = Outliers.UnfamiliarLimit(distances, median, mad, Spread);
            if (!(limit > median)) return null; // all but the farthest few at one distance: nothing to set a limit by
            flagged ??= new bool[distances.Length];
            for (int i = 0; i < distances.Length; i++) flagged[i] |= distances[i] > limit;
            fitted.Add(new FamiliarLayer(tap, (int)unit.shape[1], unit.contiguous().data<float>().ToArray(), 1 - limit, distances.Count(d => d > limit))
                { AtFarthest = atFarthest });
        }
        return new Familiarity(fitted, (int)rows, k, onValidation ? "validation" : "training", flagged!.Length, flagged.Count(f => f));
    }

    /// <summary>Whether images with these features (one tensor per layer, in <see cref="Layers"/>' order) are
    /// unfamiliar: what the exported graph computes.</summary>
    public bool[] Unfamiliar(IReadOnlyList<Tensor> features)
    {
        using var scope = NewDisposeScope();
        var result = new bool[features[0].shape[0]];
        foreach (var (layer, values) in Layers.Zip(features))
        {
            using var reference = tensor(layer.Reference, [Rows, layer.Width]);
            var distances = Outliers.KthNearest(Outliers.Normalized(values), reference, Neighbours);
            for (int i = 0; i < result.Length; i++) result[i] |= 1 - distances[i] < layer.MinSimilarity;
        }
        return result;
    }

    public string Describe() =>
        $"an image is unfamiliar when its {Neighbours}th nearest of {Rows} training images is less similar than the limit in " +
        string.Join(" or ", Layers.Select(l => $"{l.Describe()}")) +
        $" ({Spread} robust deviations past the {Basis} images' median distance, and past all but {Outliers.MostPastUnfamiliarLimit:P1} of them; " +
        $"{Flagged} of the {Measured} {Basis} images lie past a limit)";
}

using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>Images far from the rest, in cosine distance between features, flagged when the distance lies more than a
/// number of robust deviations (scaled median absolute deviation) above the median of the training images' own
/// distances. Training images far from every class mean are outliers (<see cref="Find"/>); test images far from their
/// nearest training images are unfamiliar (<see cref="Between"/>).</summary>
public static class Outliers
{
    /// <summary>How many robust deviations above the median a training image's distance must lie to be an outlier.</summary>
    public const double Spread = 6;

    /// <summary>How many robust deviations above the training images' median a test image's distance must lie to be
    /// unfamiliar. Measured (the embedded ResNet's features, Fashion-MNIST 2 000 training images): of 996 desktop icons
    /// among the test images 78 % lie above 4 (43 % above 6), of the 1 000 real test images none (0.8 % above 3).</summary>
    public const double UnfamiliarSpread = 4;

    /// <summary>At most this share of the images an unfamiliar limit is measured on lies past it (they are familiar by
    /// definition): the limit never falls inside their farthest 0.5 %. Without it, data full of near copies (burst
    /// photos, video frames, an icon in twelve colours) puts most images' 5th-nearest neighbour at a copy, the median
    /// and its deviation near 0, and the limit among ordinary images — measured: 134 icon names in 20 themes, 977 of
    /// 1 291 training images copies; every one of the 302 test icons and 63 of the 278 validation icons flagged
    /// (bench/results/unfamiliar-near-copies.md).</summary>
    public const double MostPastUnfamiliarLimit = 0.005;

    /// <summary>A test image's distance is to its <see cref="Neighbours"/>-th nearest training image (a training image's
    /// to its own, leaving itself out): a class as varied as desktop 'apps' icons has no centre to be far from.</summary>
    public const int Neighbours = 5;

    public static IReadOnlyList<DataIssue> Find(Tensor features, Tensor labels, int classes)
    {
        using var scope = NewDisposeScope();
        var (f, y) = (Normalized(features), labels.cpu().to_type(ScalarType.Int64));
        var distance = Distances(f, Means(f, y, classes));
        return Flagged(distance, distance, y.data<long>().ToArray(), DataIssueKind.Outlier, Spread, floored: false);
    }

    /// <summary>Test images (<paramref name="testFeatures"/>, <paramref name="testLabels"/>) farther from the training images
    /// than those are from each other (<see cref="Neighbours"/>, <see cref="UnfamiliarSpread"/>); rows are positions among
    /// the test images. The training images' own distances come from their <paramref name="trainNeighbours"/> (the
    /// table the label checks read), so that their square is not multiplied again.</summary>
    public static IReadOnlyList<DataIssue> Between(Tensor testFeatures, Tensor testLabels, Tensor trainFeatures, NearestNeighbours trainNeighbours)
    {
        using var scope = NewDisposeScope();
        var train = Normalized(trainFeatures);
        int k = (int)Math.Min(Neighbours, train.shape[0] - 1);
        if (k < 1 || testFeatures.shape[0] == 0) return [];
        if (trainNeighbours.K < k || trainNeighbours.Rows.shape[0] != train.shape[0])
            throw new ArgumentException($"the training images' neighbour table holds {trainNeighbours.K} of {trainNeighbours.Rows.shape[0]} images; " +
                $"{k} of {train.shape[0]} needed", nameof(trainNeighbours));
        var trainDistance = trainNeighbours.Similarities.select(1, k - 1).OneMinus().to_type(ScalarType.Float64).data<double>().ToArray();
        return Flagged(KthNearest(Normalized(testFeatures), train, k), trainDistance, testLabels.cpu().to_type(ScalarType.Int64).data<long>().ToArray(),
            DataIssueKind.Unfamiliar, UnfamiliarSpread, floored: true);
    }

    /// <summary>1 − the cosine similarity of each row of <paramref name="query"/> to its <paramref name="k"/>-th nearest row
    /// of <paramref name="reference"/> (both unit length), a block of rows at a time: 50 000 training images would
    /// otherwise take a 10 GB matrix.</summary>
    internal static double[] KthNearest(Tensor query, Tensor reference, int k, int block = 1024)
    {
        var result = new double[query.shape[0]];
        for (long start = 0; start < query.shape[0]; start += block)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(block, query.shape[0] - start);
            var kth = query.narrow(0, start, count).matmul(reference.t()).topk(k, 1).values.select(1, k - 1).OneMinus().to_type(ScalarType.Float64);
            kth.data<double>().ToArray().CopyTo(result, start);
        }
        return result;
    }

    /// <summary>The features as unit-length float rows on the CPU.</summary>
    internal static Tensor Normalized(Tensor features) => nn.functional.normalize(features.to_type(ScalarType.Float32).cpu(), dim: 1);

    /// <summary>The unit-length mean of each class's unit-length features.</summary>
    static Tensor Means(Tensor f, Tensor y, int classes) =>
        nn.functional.normalize(zeros([classes, f.shape[1]]).index_add_(0, y, f, HeldScalars.One), dim: 1);

    /// <summary>1 − the cosine similarity to the nearest class mean.</summary>
    static double[] Distances(Tensor f, Tensor means) => f.matmul(means.t()).max(1).values.OneMinus().to_type(ScalarType.Float64).data<double>().ToArray();

    /// <summary>The images whose <paramref name="distance"/> lies over <paramref name="spread"/> robust deviations above
    /// the median of <paramref name="reference"/> (and, <paramref name="floored"/>, past <see cref="UnfamiliarLimit"/>),
    /// surest first; the score is the robust deviations.</summary>
    static IReadOnlyList<DataIssue> Flagged(double[] distance, double[] reference, long[] labels, DataIssueKind kind, double spread, bool floored)
    {
        var (median, mad) = RobustSpread(reference);
        double limit = floored ? UnfamiliarLimit(reference, median, mad, spread).Limit : median + spread * mad;
        if (!(limit > median)) return [];
        double scale = mad > 0 ? mad : (limit - median) / spread; // exact copies leave no deviation: the limit is the scale
        return Enumerable.Range(0, distance.Length)
            .Where(i => distance[i] > limit)
            .Select(i => (Row: i, Z: (distance[i] - median) / scale))
            .OrderByDescending(x => x.Z)
            .Select(x => new DataIssue(x.Row, kind, (int)labels[x.Row], null, null, x.Z))
            .ToList();
    }

    /// <summary>The distance past which an image is unfamiliar, from the distances of images that are not
    /// (<paramref name="reference"/>, with their <see cref="RobustSpread"/>): <paramref name="spread"/> robust deviations
    /// above their median, and no nearer than all but <see cref="MostPastUnfamiliarLimit"/> of them
    /// (<c>AtFarthest</c>: that bound set it).</summary>
    internal static (double Limit, bool AtFarthest) UnfamiliarLimit(IReadOnlyCollection<double> reference, double median, double deviation, double spread)
    {
        var sorted = reference.Order().ToArray();
        double floor = sorted[sorted.Length - 1 - (int)(MostPastUnfamiliarLimit * sorted.Length)], spreadLimit = median + spread * deviation;
        return floor > spreadLimit ? (floor, true) : (spreadLimit, false);
    }

    /// <summary>The median of <paramref name="values"/> and their median absolute deviation from it, scaled to a normal
    /// distribution's standard deviation (1.4826 ×).</summary>
    internal static (double Median, double Deviation) RobustSpread(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        double median = sorted[sorted.Length / 2];
        var deviations = values.Select(d => Math.Abs(d - median)).Order().ToArray();
        return (median, 1.4826 * deviations[deviations.Length / 2]);
    }
}

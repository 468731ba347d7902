using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>Images far from every class: the cosine distance of each image's features to the nearest class mean, flagged
/// when it lies more than <see cref="Spread"/> robust deviations (scaled median absolute deviation) above the median.</summary>
public static class Outliers
{
    public const double Spread = 6;

    public static IReadOnlyList<DataIssue> Find(Tensor features, Tensor labels, int classes)
    {
        using var scope = NewDisposeScope();
        var f = nn.functional.normalize(features.to_type(ScalarType.Float32).cpu(), dim: 1);
        var y = labels.cpu().to_type(ScalarType.Int64);
        var means = zeros([classes, f.shape[1]]).index_add_(0, y, f, HeldScalars.One);
        means = nn.functional.normalize(means, dim: 1);
        var distance = f.matmul(means.t()).max(1).values.OneMinus().to_type(ScalarType.Float64).data<double>().ToArray();
        var given = y.data<long>().ToArray();
        var sorted = distance.Order().ToArray();
        double median = sorted[sorted.Length / 2];
        var deviations = distance.Select(d => Math.Abs(d - median)).Order().ToArray();
        double mad = 1.4826 * deviations[deviations.Length / 2];
        if (!(mad > 0)) return [];
        return Enumerable.Range(0, distance.Length)
            .Select(i => (Row: i, Z: (distance[i] - median) / mad))
            .Where(x => x.Z > Spread)
            .OrderByDescending(x => x.Z)
            .Select(x => new DataIssue(x.Row, DataIssueKind.Outlier, (int)given[x.Row], null, null, x.Z))
            .ToList();
    }
}

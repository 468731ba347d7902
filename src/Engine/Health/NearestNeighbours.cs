using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>Each image's <see cref="K"/> most similar other images of one set by cosine similarity of their features,
/// most similar first — what the neighbours' votes (<see cref="LabelErrors.Votes"/>), the copy search
/// (<see cref="NearCopies.Within"/>) and the unfamiliar test images' reference distances (<see cref="Outliers.Between"/>)
/// read, so that the square of the set is multiplied once for all three. Each pair's
/// similarity is computed once: a block of images against the images up to its own last, the block's images taking
/// their candidates across its rows and the earlier ones theirs down its columns, each keeping its K nearest so far.</summary>
public sealed class NearestNeighbours : IDisposable
{
    NearestNeighbours(Tensor similarities, Tensor rows) => (Similarities, Rows) = (similarities, rows);

    /// <summary>[N, K] float: the similarities, largest first (−3 where a set has fewer than K + 1 images).</summary>
    public Tensor Similarities { get; }

    /// <summary>[N, K] int64: the rows they are to.</summary>
    public Tensor Rows { get; }

    public long K => Rows.shape[1];

    /// <summary>The table of <paramref name="features"/> [N, D] (on the CPU), <paramref name="k"/> neighbours each (at most N − 1).</summary>
    public static NearestNeighbours Of(Tensor features, int k, int block = 1024)
    {
        using var scope = NewDisposeScope();
        var f = nn.functional.normalize(features.to_type(ScalarType.Float32).cpu(), dim: 1);
        long n = f.shape[0];
        k = (int)Math.Min(k, n - 1);
        using var unset = (-3f).ToScalar(); // below any similarity, and below an image's own (−2)
        var nearest = (Values: full([n, k], unset), Rows: zeros([n, k], ScalarType.Int64));
        for (long start = 0; start < n; start += block)
        {
            using var inner = NewDisposeScope();
            long count = Math.Min(block, n - start);
            var similarity = f.narrow(0, start, count).matmul(f.narrow(0, 0, start + count).t());
            using (var notItself = (-2f).ToScalar())
                similarity.index_put_(notItself, [HeldScalars.Range(0, count), HeldScalars.Range(start, start + count)]);
            var (values, columns) = similarity.topk((int)Math.Min(k, start + count), 1);
            Keep(nearest, start, values, columns, firstRow: 0);
            if (start == 0) continue;
            // the earlier images' nearest among this block: down the columns, no transposed copy of the block
            var (earlierValues, earlierRows) = similarity.narrow(1, 0, start).topk((int)Math.Min(k, count), 0);
            Keep(nearest, 0, earlierValues.t(), earlierRows.t(), firstRow: start);
        }
        return new NearestNeighbours(nearest.Values.MoveToOuterDisposeScope(), nearest.Rows.MoveToOuterDisposeScope());
    }

    /// <summary>Merges the candidates <paramref name="values"/> (similarities of images <paramref name="at"/>… to images
    /// <paramref name="firstRow"/> + <paramref name="columns"/>) into those images' <paramref name="nearest"/> so far.</summary>
    static void Keep((Tensor Values, Tensor Rows) nearest, long at, Tensor values, Tensor columns, long firstRow)
    {
        using var scope = NewDisposeScope();
        long count = values.shape[0], k = nearest.Values.shape[1];
        using var offset = firstRow.ToScalar();
        var (keptValues, keptRows) = (nearest.Values.narrow(0, at, count), nearest.Rows.narrow(0, at, count));
        var (best, which) = cat([keptValues, values], 1).topk((int)k, 1);
        var rows = cat([keptRows, columns.add(offset, HeldScalars.One)], 1).gather(1, which);
        keptValues.copy_(best);
        keptRows.copy_(rows);
    }

    public void Dispose()
    {
        Similarities.Dispose();
        Rows.Dispose();
    }
}

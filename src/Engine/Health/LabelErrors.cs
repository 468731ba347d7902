using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>
/// Likely label errors by confident learning (Northcutt, Jiang and Chuang 2021) on out-of-fold probabilities: the
/// softmax classifier solved on the frozen features of k−1 folds scores the k-th, so no image is scored by a classifier
/// that saw its label. A class's threshold is the mean probability its own images get for it; an image is confidently
/// in class j when its probability for j reaches j's threshold (the most probable such class; the most probable class
/// when none does). The images confidently in another class than their label (the confident joint's off-diagonal) are
/// the candidate errors, kept when that class is more probable than the given label by at least <see cref="MinimumMargin"/>.
/// On Fashion-MNIST 2 000 with 5 % of the labels flipped at random, the candidates alone were right 47 % of the time
/// (most of the rest are the garments Fashion-MNIST itself confuses: shirts, T-shirts, pullovers, coats); the margin of
/// 0.6, set on one draw of the flips and checked on another, keeps precision 0.75 and 0.73 at recall 0.73 and 0.74
/// (bench/results/data-health.md).
/// </summary>
public static class LabelErrors
{
    /// <summary>How much more probable the confident class must be than the given label for an image to be flagged.</summary>
    public const double MinimumMargin = 0.6;

    /// <summary>Out-of-fold probabilities [N, C] (CPU, float64): <paramref name="folds"/> stratified folds, each scored by
    /// the classifier solved on the others with penalty <paramref name="l2"/>.</summary>
    public static Tensor OutOfFold(Tensor features, Tensor labels, int classes, double l2, int folds, int seed)
    {
        var y = labels.cpu().data<long>().ToArray();
        var fold = StratifiedFolds(y, folds, seed);
        var probabilities = zeros([y.Length, classes], ScalarType.Float64);
        LinearHead? previous = null;
        try
        {
            for (int k = 0; k < folds; k++)
            {
                using var scope = NewDisposeScope();
                var held = Enumerable.Range(0, y.Length).Where(i => fold[i] == k).Select(i => (long)i).ToArray();
                if (held.Length == 0) continue;
                var kept = Enumerable.Range(0, y.Length).Where(i => fold[i] != k).Select(i => (long)i).ToArray();
                var keptIndex = tensor(kept, device: features.device);
                var heldIndex = tensor(held, device: features.device);
                // from the previous fold's solution (three quarters of the same images): the same convex problem's
                // optimum in a third of the iterations
                var head = LinearHead.Fit(features.index_select(0, keptIndex), labels.to(features.device).index_select(0, keptIndex), classes, l2, null,
                    warmStart: previous);
                head.Weight.DetachFromDisposeScope(); // kept past this fold's scope, for the next one
                head.Bias.DetachFromDisposeScope();
                previous?.Dispose();
                previous = head;
                var scored = nn.functional.softmax(head.Logits(features.index_select(0, heldIndex)), 1).cpu().to_type(ScalarType.Float64);
                probabilities.index_copy_(0, tensor(held), scored);
            }
        }
        finally
        {
            previous?.Dispose();
        }
        return probabilities;
    }

    /// <summary>The class shares among each image's <paramref name="k"/> nearest other images by cosine similarity of
    /// their features [N, C] (CPU, float64): a second opinion that does not depend on a linear boundary. Each pair's
    /// similarity is computed once: a block of images against the images up to its own last, the block's images taking
    /// their candidates from it and the earlier ones theirs from its transpose, each keeping its k nearest so far.</summary>
    public static Tensor NeighbourVotes(Tensor features, Tensor labels, int classes, int k = 10, int block = 1024)
    {
        using var scope = NewDisposeScope();
        var f = nn.functional.normalize(features.to_type(ScalarType.Float32).cpu(), dim: 1);
        var y = labels.cpu().to_type(ScalarType.Int64);
        long n = f.shape[0];
        k = (int)Math.Min(k, n - 1);
        using var unset = (-3f).ToScalar(); // below any similarity, and below itself (-2)
        var nearest = (Values: full([n, k], unset), Rows: zeros([n, k], ScalarType.Int64));
        for (long start = 0; start < n; start += block)
        {
            using var inner = NewDisposeScope();
            long count = Math.Min(block, n - start);
            var similarity = f.narrow(0, start, count).matmul(f.narrow(0, 0, start + count).t());
            using (var notItself = (-2f).ToScalar())
                similarity.index_put_(notItself, [HeldScalars.Range(0, count), HeldScalars.Range(start, start + count)]);
            int take = (int)Math.Min(k, start + count);
            var (values, columns) = similarity.topk(take, 1);
            Keep(nearest, start, values, columns, firstRow: 0);
            if (start == 0) continue;
            // the earlier images' nearest among this block: down the columns, no transposed copy of the block
            var (earlierValues, earlierRows) = similarity.narrow(1, 0, start).topk((int)Math.Min(k, count), 0);
            Keep(nearest, 0, earlierValues.t(), earlierRows.t(), firstRow: start);
        }
        var neighbourLabels = y.index_select(0, nearest.Rows.reshape(-1)).reshape(n, k);
        return nn.functional.one_hot(neighbourLabels, classes).to_type(ScalarType.Float64).mean([1]).MoveToOuterDisposeScope();
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

    /// <summary>The flagged images, surest first: row, given label, suggested class, and the margin as the score.</summary>
    public static IReadOnlyList<DataIssue> Find(Tensor outOfFold, Tensor labels, double minimumMargin = MinimumMargin)
    {
        var p = outOfFold.cpu().to_type(ScalarType.Float64);
        int n = (int)p.shape[0], classes = (int)p.shape[1];
        var probs = p.data<double>().ToArray();
        var y = labels.cpu().data<long>().Select(l => (int)l).ToArray();
        double P(int i, int c) => probs[i * classes + c];

        var threshold = new double[classes];
        var count = new int[classes];
        for (int i = 0; i < n; i++) { threshold[y[i]] += P(i, y[i]); count[y[i]]++; }
        for (int c = 0; c < classes; c++) threshold[c] = count[c] == 0 ? 1 : threshold[c] / count[c];

        // each image's confident class: the most probable class at or above its threshold, else (probabilities that
        // saturate, on well separated classes, put a flipped image's true class just under its threshold) the most
        // probable class
        var confident = new int[n];
        for (int i = 0; i < n; i++)
        {
            int best = -1, top = 0;
            for (int c = 0; c < classes; c++)
            {
                if (P(i, c) > P(i, top)) top = c;
                if (P(i, c) >= threshold[c] && (best < 0 || P(i, c) > P(i, best))) best = c;
            }
            confident[i] = best >= 0 ? best : top;
        }
        return Enumerable.Range(0, n)
            .Where(i => confident[i] >= 0 && confident[i] != y[i] && P(i, confident[i]) - P(i, y[i]) >= minimumMargin)
            .Select(i => new DataIssue(i, DataIssueKind.LabelError, y[i], confident[i], null, P(i, confident[i]) - P(i, y[i])))
            .OrderByDescending(i => i.Score)
            .ToList();
    }

    /// <summary>A fold per row, each class dealt round-robin over the folds in a seeded shuffle.</summary>
    static int[] StratifiedFolds(long[] labels, int folds, int seed)
    {
        var fold = new int[labels.Length];
        var random = new Random(seed);
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]))
        {
            var rows = group.ToArray();
            random.Shuffle(rows);
            for (int k = 0; k < rows.Length; k++) fold[rows[k]] = k % folds;
        }
        return fold;
    }
}

using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>Copies and near copies, by two measures that fail differently: the perceptual print (thumbnail correlation,
/// <see cref="PerceptualPrint"/>: a resized or re-encoded copy keeps it near 1) and the frozen network's features
/// (cosine similarity). Each image is compared with its closest image by print: a copy when the prints correlate at
/// least <see cref="PrintCorrelation"/> and the features agree at least <see cref="FeatureAgreement"/>, or when the
/// features alone are as close as <see cref="Similarity"/>. Measured on Fashion-MNIST 2 000 with 40 test images copied
/// into training (a third as they were, a third resized ×2, a third re-encoded as JPEG at quality 75): the copies
/// correlate 0.9989 and more with their originals, different garments at most 0.9951; features of different images
/// agree at most 0.983 (bench/results/data-health.md).</summary>
public static class NearCopies
{
    public const double PrintCorrelation = 0.998;
    public const double FeatureAgreement = 0.9;
    public const double Similarity = 0.995;

    /// <summary>Pairs inside one set: the later image of each pair is flagged, <see cref="DataIssue.Other"/> the earlier
    /// one. With the set's <paramref name="neighbours"/> (as the votes read them), the closest earlier image by features
    /// is read from them instead of searched again (<see cref="NearestEarlier"/>).</summary>
    public static IReadOnlyList<DataIssue> Within(Tensor features, Tensor prints, Tensor labels, NearestNeighbours? neighbours = null) =>
        Pairs(features, prints, features, prints, same: true, labels, DataIssueKind.Duplicate, neighbours);

    /// <summary>Test images with a copy among the training images.</summary>
    public static IReadOnlyList<DataIssue> Between(Tensor testFeatures, Tensor testPrints, Tensor testLabels, Tensor trainFeatures, Tensor trainPrints) =>
        Pairs(testFeatures, testPrints, trainFeatures, trainPrints, same: false, testLabels, DataIssueKind.Leak);

    /// <summary>Test images with a copy among the training images, by print first: only the test images whose closest
    /// training print correlates at least <see cref="PrintCorrelation"/> have their features computed
    /// (<paramref name="featuresOf"/>, for those rows of the test images) and compared. The recipe checks this way,
    /// so that a run pays for the features of a handful of candidates instead of every test image; what it cannot
    /// see is a copy whose thumbnail changed (cropped, mirrored), which <c>check</c>'s full comparison also finds.</summary>
    public static IReadOnlyList<DataIssue> BetweenByPrint(Tensor testPrints, Tensor testLabels, Tensor trainFeatures, Tensor trainPrints,
        Func<long[], Tensor> featuresOf)
    {
        var labels = testLabels.cpu().data<long>().ToArray();
        var byPrint = Nearest(testPrints.cpu(), trainPrints.cpu(), same: false);
        var candidates = Enumerable.Range(0, labels.Length).Where(i => byPrint[i].Row >= 0 && byPrint[i].Value >= PrintCorrelation).ToArray();
        if (candidates.Length == 0) return [];
        using var scope = NewDisposeScope();
        var qf = nn.functional.normalize(featuresOf(candidates.Select(i => (long)i).ToArray()).to_type(ScalarType.Float32).cpu(), dim: 1);
        var matched = tensor(candidates.Select(i => (long)byPrint[i].Row).ToArray());
        var rf = nn.functional.normalize(trainFeatures.to_type(ScalarType.Float32).cpu().index_select(0, matched), dim: 1);
        var agreements = (qf * rf).sum(1).data<float>().ToArray();
        return candidates.Select((row, k) => (row, k))
            .Where(c => agreements[c.k] >= FeatureAgreement)
            .Select(c => new DataIssue(c.row, DataIssueKind.Leak, (int)labels[c.row], null, byPrint[c.row].Row, byPrint[c.row].Value))
            .ToList();
    }

    static IReadOnlyList<DataIssue> Pairs(Tensor queryFeatures, Tensor queryPrints, Tensor referenceFeatures, Tensor referencePrints, bool same,
        Tensor queryLabels, DataIssueKind kind, NearestNeighbours? neighbours = null)
    {
        using var scope = NewDisposeScope();
        var labels = queryLabels.cpu().data<long>().ToArray();
        var qf = nn.functional.normalize(queryFeatures.to_type(ScalarType.Float32).cpu(), dim: 1);
        var rf = same ? qf : nn.functional.normalize(referenceFeatures.to_type(ScalarType.Float32).cpu(), dim: 1);
        var byPrint = Nearest(queryPrints.cpu(), referencePrints.cpu(), same);
        var byFeatures = neighbours != null ? NearestEarlier(neighbours, qf) : Nearest(qf, rf, same);
        // how far the features of each image and its closest by print agree, all at once
        var agreements = (qf * rf.index_select(0, tensor(byPrint.Select(p => (long)Math.Max(p.Row, 0)).ToArray()))).sum(1).data<float>().ToArray();
        var issues = new List<DataIssue>();
        for (int i = 0; i < labels.Length; i++)
        {
            var (printRow, correlation) = byPrint[i];
            var (featureRow, similarity) = byFeatures[i];
            double agreement = printRow < 0 ? 0 : agreements[i];
            if (printRow >= 0 && correlation >= PrintCorrelation && agreement >= FeatureAgreement)
                issues.Add(new DataIssue(i, kind, (int)labels[i], null, printRow, correlation));
            else if (featureRow >= 0 && similarity >= Similarity)
                issues.Add(new DataIssue(i, kind, (int)labels[i], null, featureRow, similarity));
        }
        return issues;
    }

    /// <summary>Each image's closest earlier image by features (unit rows <paramref name="features"/>), where that can
    /// be a copy: the closest earlier one among its nearest <paramref name="neighbours"/> when it is closer than the
    /// farthest of them; else, when the farthest of them is as close as <see cref="Similarity"/> (more copies of one
    /// image than the table holds, or copies tied with it), the earlier images are searched, so that the earliest of
    /// tied copies is the partner, as a search of them all finds. Otherwise no earlier image is that close: (−1, 0).</summary>
    static (int Row, double Value)[] NearestEarlier(NearestNeighbours neighbours, Tensor features)
    {
        var rows = neighbours.Rows.data<long>().ToArray();
        var values = neighbours.Similarities.data<float>().ToArray();
        int k = (int)neighbours.K;
        var result = new (int Row, double Value)[features.shape[0]];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = (-1, 0);
            if (k == 0) continue;
            int best = -1; // the closest earlier entry, the lowest row among equals
            for (int j = i * k; j < (i + 1) * k; j++)
                if (rows[j] < i && (best < 0 || values[j] > values[best] || values[j] == values[best] && rows[j] < rows[best])) best = j;
            float farthest = values[(i + 1) * k - 1];
            if (best >= 0 && values[best] > farthest) result[i] = ((int)rows[best], values[best]);
            else if (i > 0 && farthest >= Similarity)
            {
                using var scope = NewDisposeScope();
                var (closest, index) = features.narrow(0, i, 1).matmul(features.narrow(0, 0, i).t()).max(1);
                result[i] = ((int)index.item<long>(), closest.item<float>());
            }
        }
        return result;
    }

    /// <summary>Each query's closest reference by dot product (within one set: among earlier rows), in blocks.</summary>
    static (int Row, double Value)[] Nearest(Tensor query, Tensor reference, bool same, int block = 1024)
    {
        var result = new (int, double)[query.shape[0]];
        for (long start = 0; start < query.shape[0]; start += block)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(block, query.shape[0] - start);
            // within one set, only earlier rows (the later image of a pair is the copy): the block's rows against the
            // rows up to its own last, half the products of the whole square, the later ones of its own masked out
            long columnCount = same ? start + count : reference.shape[0];
            var products = query.narrow(0, start, count).matmul(reference.narrow(0, 0, columnCount).t());
            if (same)
            {
                var rows = HeldScalars.Range(start, start + count).unsqueeze(1);
                var columns = HeldScalars.Range(0, columnCount).unsqueeze(0);
                using var none = (-2).ToScalar();
                products = products.masked_fill(columns.ge(rows), none);
            }
            var (best, index) = products.max(1);
            var b = best.data<float>().ToArray();
            var ix = index.data<long>().ToArray();
            for (int i = 0; i < count; i++) result[start + i] = b[i] < -1 ? (-1, 0) : ((int)ix[i], b[i]);
        }
        return result;
    }
}

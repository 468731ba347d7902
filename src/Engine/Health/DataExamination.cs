using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>The data checks on features a pretrained network computed, shared by <c>check</c> (before any training) and
/// the recipe (on the features its classifier was solved on, so a run pays only for the checks themselves):
/// likely label errors (<see cref="LabelErrors"/>: confident learning on the mean of two out-of-sample opinions — the
/// <see cref="Folds"/>-fold out-of-fold probabilities of the softmax classifier solved on the features with the penalty
/// the recipe chose, and the class shares of each image's 10 nearest neighbours), copies inside the training images
/// (<see cref="NearCopies"/>) and outliers (<see cref="Outliers"/>).</summary>
public static class DataExamination
{
    /// <summary>Folds of the out-of-fold probabilities.</summary>
    public const int Folds = 5;

    /// <summary>The training images' neighbours (<see cref="NearestNeighbours.Of"/>) the checks read: the set's square
    /// multiplied once, for the votes, the copies and the unfamiliar test images' reference distances.</summary>
    public static NearestNeighbours Neighbours(Tensor features) => NearestNeighbours.Of(features, LabelErrors.Neighbours);

    /// <summary>Label errors, duplicates and outliers among the training images (rows: positions in
    /// <paramref name="features"/>); <paramref name="prints"/> are their <see cref="PerceptualPrint"/>s,
    /// <paramref name="neighbours"/> their <see cref="Neighbours"/>.</summary>
    public static List<DataIssue> Training(Tensor features, Tensor labels, Tensor prints, int classes, double l2, int seed, NearestNeighbours neighbours)
    {
        var issues = new List<DataIssue>();
        using (var outOfFold = LabelErrors.OutOfFold(features, labels, classes, l2, Folds, seed))
        using (var votes = LabelErrors.Votes(neighbours, labels, classes))
        using (var both = outOfFold.Plus(votes).DividedBy(2)) // two opinions: a linear boundary and the neighbours
            issues.AddRange(LabelErrors.Find(both, labels));
        issues.AddRange(NearCopies.Within(features, prints, labels, neighbours));
        issues.AddRange(Outliers.Find(features, labels, classes));
        return issues;
    }
}

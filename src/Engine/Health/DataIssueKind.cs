namespace MlNetTransfer.Engine.Health;

/// <summary>What is wrong with a labelled image.</summary>
public enum DataIssueKind
{
    /// <summary>Its label is likely wrong: the classifier solved without it puts it confidently in another class.</summary>
    LabelError,

    /// <summary>A copy or near copy of another training image.</summary>
    Duplicate,

    /// <summary>A test image with a copy or near copy in the training images: the test accuracy overstates.</summary>
    Leak,

    /// <summary>Far from every class in feature space: an image that belongs to none of them, or a broken one.</summary>
    Outlier,

    /// <summary>A test image farther from the training images than they are from each other: of a class,
    /// a camera or a kind of picture training never saw. The test accuracy says little about such images.</summary>
    Unfamiliar,
}

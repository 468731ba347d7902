namespace MlNetTransfer.MlNet;

/// <summary>Thrown by Fit when <see cref="TransferTrainOptions.FailOnUnreadableImages"/> is set and an image could not
/// be read (missing, truncated, not an image, over the pixel limit): <see cref="Problems"/> names each with why.</summary>
public sealed class UnreadableImagesException(string set, IReadOnlyList<string> problems)
    : IOException($"{problems.Count} {set} image(s) could not be read: {string.Join("; ", problems.Take(5))}{(problems.Count > 5 ? "; …" : "")}")
{
    /// <summary>"path: why" (or "row N: why" where the files are not known) for each image left out.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

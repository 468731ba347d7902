using Microsoft.ML;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>Writes a job folder for PyTorch's torchrun: the recipe run up to its first training step here (the
/// classifier solved on the frozen features, the strategy resolved), then everything the training step needs.</summary>
public static class TransferJobExport
{
    /// <summary>What the export decided; <paramref name="Skipped"/>: the training and validation images left out of the
    /// job because they could not be decoded, and why (a job stopped by one would stop on every machine).</summary>
    public sealed record Summary(FineTuneStrategy Strategy, int ImageSize, string Reason, string Plan, string Head, IReadOnlyList<string> Skipped);

    /// <summary>Prepares the run on <paramref name="train"/> (and <see cref="TransferTrainOptions.ValidationSet"/>, whose
    /// images choose the best epoch) and writes the job to <paramref name="folder"/>; <paramref name="images"/> are the
    /// rows of both — the training rows in <paramref name="train"/>'s order, the validation rows in the validation
    /// set's — and any test rows, relative to <paramref name="imageRoot"/>. A training or validation image the
    /// preparation could not decode is left out of the job and named in <see cref="Summary.Skipped"/>.</summary>
    public static Summary Write(MLContext mlContext, IDataView train, TransferTrainOptions options, string folder,
        IReadOnlyList<JobImage> images, string imageRoot)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(train);
        if (options.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentOutOfRangeException(nameof(options.Strategy), options.Strategy,
                "a job trains layers on other machines; HeadOnly solves the classifier here in seconds (use TransferTrain)");
        using var held = HeldTensors.Begin();
        var (result, classes, trainRows, validationRows, skipped) = new TransferTrainEstimator(mlContext, options).Prepare(train);
        using var prepared = result;
        if (prepared.Training.Cancelled) throw new OperationCanceledException("job export cancelled; nothing written", options.CancellationToken);
        if (prepared.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentException($"Auto chose the classifier alone ({prepared.Auto?.Reason}): a job would have nothing to train; " +
                "name a deeper strategy, or use TransferTrain.", nameof(options.Strategy));
        var plan = StrategyPlan.For(prepared.Architecture, prepared.Strategy);
        var reason = prepared.Auto?.Reason ?? "named in the options";
        var recipe = JobRecipe.Of(plan, prepared.Model, prepared.Preprocessing, classes, options, reason,
            prepared.Head?.Describe() ?? "the starting weights' own", Path.GetFullPath(imageRoot));
        JobFiles.Write(folder, recipe, prepared.Model.state_dict(), prepared.Preprocessing, Decoded(images, trainRows, validationRows));
        return new Summary(prepared.Strategy, prepared.ImageSize, reason, plan.Describe(), recipe.Head, skipped);
    }

    /// <summary><paramref name="images"/> without the training and validation rows that were not read (the n-th
    /// training image is input row n of the training data; likewise for validation).</summary>
    static List<JobImage> Decoded(IReadOnlyList<JobImage> images, IReadOnlyList<long> trainRows, IReadOnlyList<long> validationRows)
    {
        var read = new Dictionary<string, HashSet<long>> { [JobImage.Train] = [.. trainRows], [JobImage.Validation] = [.. validationRows] };
        var seen = new Dictionary<string, long> { [JobImage.Train] = 0, [JobImage.Validation] = 0 };
        var kept = new List<JobImage>(images.Count);
        foreach (var image in images)
        {
            if (read.TryGetValue(image.Split, out var rows))
            {
                long row = seen[image.Split]++;
                if (!rows.Contains(row)) continue;
            }
            kept.Add(image);
        }
        if ((trainRows.Count > 0 && seen[JobImage.Train] <= trainRows.Max()) || (validationRows.Count > 0 && seen[JobImage.Validation] <= validationRows.Max()))
            throw new ArgumentException("images lists fewer training or validation rows than the data holds", nameof(images));
        return kept;
    }
}

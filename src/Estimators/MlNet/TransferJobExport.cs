using Microsoft.ML;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>Writes a job folder for PyTorch's torchrun: the recipe run up to its first training step here (the
/// classifier solved on the frozen features, the strategy resolved), then everything the training step needs.</summary>
public static class TransferJobExport
{
    /// <summary>What the export decided.</summary>
    public sealed record Summary(FineTuneStrategy Strategy, int ImageSize, string Reason, string Plan, string Head);

    /// <summary>Prepares the run on <paramref name="train"/> (and <see cref="TransferTrainOptions.ValidationSet"/>, whose
    /// images choose the best epoch) and writes the job to <paramref name="folder"/>; <paramref name="images"/> are the
    /// rows of both, and any test rows, relative to <paramref name="imageRoot"/>.</summary>
    public static Summary Write(MLContext mlContext, IDataView train, TransferTrainOptions options, string folder,
        IReadOnlyList<JobImage> images, string imageRoot)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(train);
        if (options.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentOutOfRangeException(nameof(options.Strategy), options.Strategy,
                "a job trains layers on other machines; HeadOnly solves the classifier here in seconds (use TransferTrain)");
        using var held = HeldTensors.Begin();
        using var prepared = new TransferTrainEstimator(mlContext, options).Prepare(train, out var classes);
        if (prepared.Training.Cancelled) throw new OperationCanceledException("job export cancelled; nothing written", options.CancellationToken);
        if (prepared.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentException($"Auto chose the classifier alone ({prepared.Auto?.Reason}): a job would have nothing to train; " +
                "name a deeper strategy, or use TransferTrain.", nameof(options.Strategy));
        var plan = StrategyPlan.For(prepared.Architecture, prepared.Strategy);
        var reason = prepared.Auto?.Reason ?? "named in the options";
        var recipe = JobRecipe.Of(plan, prepared.Model, prepared.Preprocessing, classes, options, reason,
            prepared.Head?.Describe() ?? "the starting weights' own", Path.GetFullPath(imageRoot));
        JobFiles.Write(folder, recipe, prepared.Model.state_dict(), prepared.Preprocessing, images);
        return new Summary(prepared.Strategy, prepared.ImageSize, reason, plan.Describe(), recipe.Head);
    }
}

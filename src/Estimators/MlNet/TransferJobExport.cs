using Microsoft.ML;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Training;
using TorchSharp.Modules;

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
        options.Validate();
        if (options.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentOutOfRangeException(nameof(options.Strategy), options.Strategy,
                "a job trains layers on other machines; HeadOnly solves the classifier here in seconds (use TransferTrain)");
        ImageColumns.CheckImage(train.Schema, options.ImageColumnName);
        var classes = ImageColumns.CheckLabel(train.Schema, options.LabelColumnName);
        var device = DeviceSelector.Select(new DeviceRequest(options.Device, mlContext.GpuDeviceId, mlContext.FallbackToCpu));
        var start = StartingPoint.For(options);
        var cache = new ImageCache(mlContext.TempFilePath, reuse: false, options.Log);
        var source = new DataViewImageSource(mlContext, train, options.ImageColumnName, options.LabelColumnName, classes, "training", options.Log, cache: cache);
        var validation = options.ValidationSet == null ? null
            : new DataViewImageSource(mlContext, options.ValidationSet, options.ImageColumnName, options.LabelColumnName, classes, "validation", options.Log, cache: cache);
        var context = new TrainingContext { Device = device.ToTorch(), Log = options.Log, Cancellation = options.CancellationToken };
        using var prepared = TransferRecipe.Prepare(options, start, source, validation, context);
        if (prepared.Training.Cancelled) throw new OperationCanceledException("job export cancelled; nothing written", options.CancellationToken);
        if (prepared.Strategy == FineTuneStrategy.HeadOnly)
            throw new ArgumentException($"Auto chose the classifier alone ({prepared.Auto?.Reason}): a job would have nothing to train; " +
                "name a deeper strategy, or use TransferTrain.", nameof(options.Strategy));
        var plan = StrategyPlan.For(prepared.Architecture, prepared.Strategy);
        var modules = prepared.Model.named_modules().ToDictionary(m => m.name, m => m.module);
        var reason = prepared.Auto?.Reason ?? "named in the options";
        var recipe = JobRecipe.Of(plan, prepared.Preprocessing, classes, options, reason, prepared.Head?.Describe() ?? "the starting weights' own",
            Path.GetFullPath(imageRoot), name => modules.TryGetValue(name, out var m) && m is BatchNorm2d or BatchNorm1d,
            prepared.Model.named_parameters().Select(p => p.name));
        var state = prepared.Model.state_dict();
        JobFiles.Write(folder, recipe, state, prepared.Preprocessing, images);
        return new Summary(prepared.Strategy, prepared.ImageSize, reason, plan.Describe(), recipe.Head);
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Jobs;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The TransferTrain step for a network trained elsewhere by an exported job (<c>train_ddp.py</c> under torchrun):
/// <see cref="Fit"/> trains nothing; it loads the job's <c>trained.safetensors</c>, checks TorchSharp against the
/// job's own logits, and returns the same <see cref="TransferTrainTransformer"/> that <c>TransferTrain</c> does — a
/// regular ML.NET model once saved. The label's classes must be the job's (in any key order).
/// </summary>
public sealed class TransferJobEstimator : IEstimator<TransferTrainTransformer>
{
    readonly MLContext _mlContext;
    readonly string _jobFolder;
    readonly TransferTrainOptions _columns;

    public TransferJobEstimator(MLContext mlContext, string jobFolder, TransferTrainOptions? columns = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrEmpty(jobFolder);
        _mlContext = mlContext;
        _jobFolder = Path.GetFullPath(jobFolder);
        _columns = columns ?? new TransferTrainOptions();
        JobFiles.ReadRecipe(_jobFolder); // a folder that is not a job is refused before any pipeline is fitted
    }

    /// <summary>Score and PredictedLabel, as TransferTrain's, and Unfamiliar with <see cref="FineTuneOptions.FlagUnfamiliar"/>.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        new TransferTrainEstimator(_mlContext, _columns).OutputSchema(inputSchema, _columns.FlagUnfamiliar);

    /// <summary>Trains nothing. With <see cref="FineTuneOptions.FlagUnfamiliar"/> (the default) it reads up to
    /// <see cref="Familiarity.MaxRows"/> of <paramref name="input"/>'s images (the job's training images) and of
    /// <see cref="TransferTrainOptions.ValidationSet"/>'s, once the job's logits are checked, so that the model calls
    /// images unlike them unfamiliar, as a trained one does; without it, only the schema of <paramref name="input"/>
    /// (its label's key values) is read.</summary>
    public TransferTrainTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var reader = new TransferTrainEstimator(_mlContext, _columns);
        var classes = reader.CheckedColumns(input); // and ValidationSet's, as TransferTrain checks them
        var recipe = JobFiles.ReadRecipe(_jobFolder);
        if (classes.Length != recipe.Classes.Count || classes.Except(recipe.Classes).Any())
            throw new ArgumentException($"Label column '{_columns.LabelColumnName}' has the classes {string.Join(", ", classes)}; the job in {_jobFolder} " +
                $"was trained on {string.Join(", ", recipe.Classes)}. Map the labels with the job's classes.", nameof(input));
        var log = _columns.Log ?? MlNetLog.For(_mlContext, "TransferJob", "Fit");
        using var held = HeldTensors.Begin();
        using var result = JobImport.Load(_jobFolder, recipe, classes, log, _columns.FlagUnfamiliar ? FamiliarImages(reader, input, classes, recipe.Seed, log) : null);
        log($"job {_jobFolder}: {result.Architecture.Name} {result.Strategy} at {result.ImageSize} px, trained by {result.Record.Device}");
        return TransferTrainEstimator.Step(_mlContext, input, result, classes, _columns, []);
    }

    /// <summary>A sample of the training and validation images, read as TransferTrain reads them.</summary>
    (IImageSource Train, IImageSource? Validation) FamiliarImages(TransferTrainEstimator reader, IDataView input, string[] classes, int seed, Action<string> log)
    {
        var cache = reader.NewImageCache(log);
        IImageSource Source(IDataView data, string name) =>
            reader.ImageSource(RowSample.Of(data, Familiarity.MaxRows, seed), classes, name, cache, failOnUnreadable: false, log: log);
        return (Source(input, "training"), _columns.ValidationSet is { } validation ? Source(validation, "validation") : null);
    }
}

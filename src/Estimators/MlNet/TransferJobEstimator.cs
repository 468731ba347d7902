using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Jobs;
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

    /// <summary>Score and PredictedLabel, as TransferTrain's; no Unfamiliar column (the job's images are not read here).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        new TransferTrainEstimator(_mlContext, _columns).OutputSchema(inputSchema, unfamiliar: false);

    /// <summary>Reads only the schema of <paramref name="input"/> (its label's key values): no image is decoded.</summary>
    public TransferTrainTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumns.CheckImage(input.Schema, _columns.ImageColumnName);
        var classes = ImageColumns.CheckLabel(input.Schema, _columns.LabelColumnName);
        var recipe = JobFiles.ReadRecipe(_jobFolder);
        if (classes.Length != recipe.Classes.Count || classes.Except(recipe.Classes).Any())
            throw new ArgumentException($"Label column '{_columns.LabelColumnName}' has the classes {string.Join(", ", classes)}; the job in {_jobFolder} " +
                $"was trained on {string.Join(", ", recipe.Classes)}. Map the labels with the job's classes.", nameof(input));
        var log = _columns.Log ?? MlNetLog.For(_mlContext, "TransferJob", "Fit");
        using var held = HeldTensors.Begin();
        using var result = JobImport.Load(_jobFolder, recipe, classes, log);
        log($"job {_jobFolder}: {result.Architecture.Name} {result.Strategy} at {result.ImageSize} px, trained by {result.Record.Device}");
        return TransferTrainEstimator.Step(_mlContext, input, result, classes, _columns, []);
    }
}

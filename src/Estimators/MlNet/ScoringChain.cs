using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The fitted model as a chain of stock ML.NET transformers, so the saved zip loads with Microsoft.ML,
/// ImageAnalytics and OnnxTransformer alone (docs/api.md):
/// ResizeImages → ExtractPixels → ApplyOnnxModel (Score, arg-max index) → Hash(combine) → MapValue(hash → class,
/// as key) → DropColumns. The arg-max arrives as a [1,1] Int64 vector; hashing it and mapping each class index's
/// hash to its name is the public route to a scalar key column whose key values are the class names, in the
/// label's key order.
/// </summary>
internal static class ScoringChain
{
    public const string PredictedIndex = "__TransferTrain_PredictedIndex";
    const string Hash = "__TransferTrain_PredictedHash";

    public static TransformerChain<ITransformer> Build(MLContext mlContext, IDataView fitData, string onnxPath, string imageColumn,
        int side, IReadOnlyList<string> classNames, string scoreColumn, string predictedLabelColumn)
    {
        mlContext = ScoringDevice.ChainContext(mlContext); // ONNX Runtime on the GPU the context names only where it can be
        var hashOptions = new HashingEstimator.ColumnOptions(Hash, PredictedIndex, combine: true);
        var hashes = IndexHashes(mlContext, hashOptions, classNames.Count);
        var pairs = hashes.Select((hash, index) => new KeyValuePair<uint, string>(hash, classNames[index]));

        var estimator = ImageColumns.Preprocess(mlContext, imageColumn, side)
            .Append(mlContext.Transforms.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = onnxPath, InputColumns = [ImageColumns.Pixels], OutputColumns = [scoreColumn, PredictedIndex],
                GpuDeviceId = mlContext.GpuDeviceId, FallbackToCpu = mlContext.FallbackToCpu,
                IntraOpNumThreads = OnnxThreads.For(mlContext), // a CPU quota's count; the zip carries none
            }))
            .Append(mlContext.Transforms.Conversion.Hash([hashOptions]))
            .Append(mlContext.Transforms.Conversion.MapValue(predictedLabelColumn, pairs, Hash, treatValuesAsKeyType: true))
            .Append(mlContext.Transforms.DropColumns(ImageColumns.Resized, ImageColumns.Pixels, PredictedIndex, Hash));
        var fitted = estimator.Fit(fitData);
        return new TransformerChain<ITransformer>(fitted.ToArray());
    }

    /// <summary>The hash of each class index as the chain will compute it (same column type, same options);
    /// they must be distinct, or two classes would share a prediction.</summary>
    static uint[] IndexHashes(MLContext mlContext, HashingEstimator.ColumnOptions options, int classCount)
    {
        var rows = Enumerable.Range(0, classCount).Select(i => new IndexRow { Index = [i] });
        var view = mlContext.Data.LoadFromEnumerable(rows);
        var hashed = mlContext.Transforms.Conversion.Hash([options]).Fit(view).Transform(view);
        var hashes = hashed.GetColumn<uint>(options.Name).ToArray();
        if (hashes.Distinct().Count() != classCount)
            throw new InvalidOperationException($"two of the {classCount} class indices hash to the same value; cannot build PredictedLabel");
        return hashes;
    }

    sealed class IndexRow
    {
        [ColumnName(PredictedIndex), VectorType(1, 1)]
        public long[] Index { get; set; } = [];
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The fitted model as a chain of stock ML.NET transformers, so the saved zip loads with Microsoft.ML,
/// ImageAnalytics and OnnxTransformer alone (docs/api.md):
/// ResizeImages → ExtractPixels → ApplyOnnxModel (Score, arg-max index, unfamiliar flag) → Hash(combine) →
/// MapValue(hash → class, as key) → DropColumns. The arg-max arrives as a [1,1] Int64 vector; hashing it and mapping
/// each class index's hash to its name is the public route to a scalar key column whose key values are the class
/// names, in the label's key order. The unfamiliar flag (0 or 1, the same kind of vector) takes the same route to a
/// scalar boolean.
/// </summary>
internal static class ScoringChain
{
    public const string PredictedIndex = "__TransferTrain_PredictedIndex";
    public const string UnfamiliarIndex = "__TransferTrain_UnfamiliarIndex";
    const string Hash = "__TransferTrain_PredictedHash";
    const string UnfamiliarHash = "__TransferTrain_UnfamiliarHash";

    /// <summary>The chain; <paramref name="unfamiliarColumn"/>, when given, is the boolean column made from the ONNX
    /// model's <see cref="UnfamiliarIndex"/> output (which the model must then have).</summary>
    public static TransformerChain<ITransformer> Build(MLContext mlContext, IDataView fitData, string onnxPath, string imageColumn,
        int side, IReadOnlyList<string> classNames, string scoreColumn, string predictedLabelColumn, string? unfamiliarColumn = null)
    {
        mlContext = ScoringDevice.ChainContext(mlContext); // ONNX Runtime on the GPU the context names only where it can be
        var hashOptions = new HashingEstimator.ColumnOptions(Hash, PredictedIndex, combine: true);
        var hashes = IndexHashes(mlContext, classNames.Count);
        var pairs = hashes.Select((hash, index) => new KeyValuePair<uint, string>(hash, classNames[index]));
        bool flags = unfamiliarColumn != null;

        var estimator = ImageColumns.Preprocess(mlContext, imageColumn, side)
            .Append(mlContext.Transforms.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = onnxPath, InputColumns = [ImageColumns.Pixels],
                OutputColumns = flags ? [scoreColumn, PredictedIndex, UnfamiliarIndex] : [scoreColumn, PredictedIndex],
                GpuDeviceId = mlContext.GpuDeviceId, FallbackToCpu = mlContext.FallbackToCpu,
                IntraOpNumThreads = OnnxThreads.For(mlContext), // a CPU quota's count; the zip carries none
            }))
            .Append(mlContext.Transforms.Conversion.Hash([hashOptions]))
            .Append(mlContext.Transforms.Conversion.MapValue(predictedLabelColumn, pairs, Hash, treatValuesAsKeyType: true));
        if (flags)
        {
            var flagHashes = IndexHashes(mlContext, 2); // of 0 (familiar) and 1 (unfamiliar)
            estimator = estimator
                .Append(mlContext.Transforms.Conversion.Hash([new HashingEstimator.ColumnOptions(UnfamiliarHash, UnfamiliarIndex, combine: true)]))
                .Append(mlContext.Transforms.Conversion.MapValue(unfamiliarColumn,
                    [new KeyValuePair<uint, bool>(flagHashes[0], false), new KeyValuePair<uint, bool>(flagHashes[1], true)], UnfamiliarHash));
        }
        var fitted = estimator
            .Append(mlContext.Transforms.DropColumns(flags
                ? [ImageColumns.Resized, ImageColumns.Pixels, PredictedIndex, Hash, UnfamiliarIndex, UnfamiliarHash]
                : [ImageColumns.Resized, ImageColumns.Pixels, PredictedIndex, Hash]))
            .Fit(fitData);
        return new TransformerChain<ITransformer>(fitted.ToArray());
    }

    /// <summary>The hash of each index 0 … <paramref name="count"/> − 1 as the chain computes it (a [1, 1] Int64 vector,
    /// combined, the default seed: the column's name plays no part); they must be distinct, or two classes would share
    /// a prediction.</summary>
    static uint[] IndexHashes(MLContext mlContext, int count)
    {
        var rows = Enumerable.Range(0, count).Select(i => new IndexRow { Index = [i] });
        var view = mlContext.Data.LoadFromEnumerable(rows);
        var hashed = mlContext.Transforms.Conversion.Hash([new HashingEstimator.ColumnOptions(Hash, PredictedIndex, combine: true)]).Fit(view).Transform(view);
        var hashes = hashed.GetColumn<uint>(Hash).ToArray();
        if (hashes.Distinct().Count() != count)
            throw new InvalidOperationException($"two of the {count} indices hash to the same value; cannot build PredictedLabel");
        return hashes;
    }

    sealed class IndexRow
    {
        [ColumnName(PredictedIndex), VectorType(1, 1)]
        public long[] Index { get; set; } = [];
    }
}

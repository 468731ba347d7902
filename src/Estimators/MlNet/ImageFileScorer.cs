using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Scores image files with a model from a TransferTrain pipeline (fitted, or loaded from its zip) the way training
/// read them: each file decoded once by <see cref="ImageDecoder"/> (at the smallest JPEG scale that covers the
/// model's side, upright, the whole-file check included), then the model's own transforms after its LoadImages step —
/// on every core, one PredictionEngine per worker. LoadImages itself would decode every file at full size and as
/// stored, which for phone photos is both slower and not what training saw.
/// </summary>
public sealed class ImageFileScorer
{
    readonly MLContext _mlContext;
    readonly ITransformer _afterLoading;
    readonly SchemaDefinition _input, _output;

    /// <summary>A scorer for <paramref name="model"/>, whose network reads <paramref name="side"/> px images;
    /// <paramref name="imageColumn"/> is the image column its LoadImages step makes (and TransferTrain reads),
    /// <paramref name="scoreColumn"/> its class-probability column.</summary>
    public ImageFileScorer(MLContext mlContext, ITransformer model, int side, long maxPixels = ImageDecoder.DefaultMaxPixels,
        string imageColumn = TransferTrainOptions.Defaults.ImageColumnName, string scoreColumn = TransferTrainOptions.Defaults.ScoreColumnName,
        string unfamiliarColumn = TransferTrainOptions.Defaults.UnfamiliarColumnName)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        _mlContext = mlContext;
        _afterLoading = AfterLoading(model);
        Side = side;
        MaxPixels = maxPixels;
        _input = SchemaDefinition.Create(typeof(ImageRow));
        _input[0].ColumnName = imageColumn;
        _output = SchemaDefinition.Create(typeof(ScoreRow));
        _output[0].ColumnName = scoreColumn;
        _output[1].ColumnName = unfamiliarColumn;
        var scored = _afterLoading.GetOutputSchema(mlContext.Data.LoadFromEnumerable(Array.Empty<ImageRow>(), _input).Schema);
        Flags = scored.GetColumnOrNull(unfamiliarColumn)?.Type == BooleanDataViewType.Instance;
    }

    /// <summary>Whether the model says which images are unfamiliar (a model trained with
    /// <see cref="Engine.Training.FineTuneOptions.FlagUnfamiliar"/>); <see cref="Result.Unfamiliar"/> is null otherwise.</summary>
    public bool Flags { get; }

    /// <summary>The side the model's network reads: JPEGs decode at the smallest scale that covers it.</summary>
    public int Side { get; }

    /// <summary>Images with more pixels than this are refused from their header.</summary>
    public long MaxPixels { get; }

    /// <summary>One file's scores (one per class, in the model's Score order), or why it could not be scored; whether
    /// the model calls it unfamiliar, where it says (<see cref="Flags"/>).</summary>
    public sealed record Result(string Path, float[]? Scores, string? Problem)
    {
        public bool? Unfamiliar { get; init; }
    }

    /// <summary>Scores every file, in order. <paramref name="seen"/>, when given, is called on the worker threads with
    /// each scored file's index, its decoded picture (valid only during the call) and its scores;
    /// <paramref name="progress"/> counts the files as they are done (thousands of photos take minutes).</summary>
    public IReadOnlyList<Result> Score(IReadOnlyList<string> paths, Action<int, SKBitmap, float[]>? seen = null,
        CancellationToken cancellation = default, PhaseProgress? progress = null) =>
        Score(paths.Count, i => ImageDecoder.Decode(paths[i], Side, MaxPixels), i => paths[i], seen, cancellation, progress);

    /// <summary>Scores images held in memory (uploads, blobs, camera frames), decoded the same way.</summary>
    public IReadOnlyList<Result> Score(IReadOnlyList<byte[]> images, CancellationToken cancellation = default) =>
        Score(images.Count, i => ImageDecoder.Decode(new MemoryStream(images[i], writable: false), Side, MaxPixels), i => $"image {i}", null, cancellation, null);

    IReadOnlyList<Result> Score(int count, Func<int, DecodedImage> decode, Func<int, string> name, Action<int, SKBitmap, float[]>? seen,
        CancellationToken cancellation, PhaseProgress? progress)
    {
        if (progress != null) progress.Total = count;
        var results = new Result[count];
        if (count == 0) return results;
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, count));
        // engines made here, not on the workers (a PredictionEngine is not thread-safe; creating one from MLContext is
        // not either); they do not own the model: disposing them must leave it, and its ONNX file, to the caller
        var engines = new System.Collections.Concurrent.ConcurrentBag<PredictionEngine<ImageRow, ScoreRow>>(
            Enumerable.Range(0, workers).Select(_ => _mlContext.Model.CreatePredictionEngine<ImageRow, ScoreRow>(_afterLoading,
                new PredictionEngineOptions { IgnoreMissingColumns = true, InputSchemaDefinition = _input, OutputSchemaDefinition = _output, OwnsTransformer = false })));
        try
        {
            // a worker's failure (a `seen` that throws, the runtime out of memory) surfaces as it was thrown, not
            // wrapped in an AggregateException, so the caller catches what it knows
            Runtime.ParallelLoops.Run(() => Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, count, 1),
                new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation },
                range =>
                {
                    if (!engines.TryTake(out var engine)) throw new InvalidOperationException("more workers than prediction engines");
                    try
                    {
                        var row = new ImageRow();
                        var output = new ScoreRow();
                        for (int i = range.Item1; i < range.Item2; i++, progress?.Advance())
                        {
                            using var decoded = decode(i);
                            if (decoded.Bitmap == null)
                            {
                                results[i] = new Result(name(i), null, decoded.Problem);
                                continue;
                            }
                            using (var image = MlNetPixels.ToMLImage(decoded.Bitmap))
                            {
                                row.Image = image;
                                engine.Predict(row, ref output);
                                row.Image = null;
                            }
                            var scores = output.Score.ToArray();
                            results[i] = new Result(name(i), scores, null) { Unfamiliar = Flags ? output.Unfamiliar : null };
                            seen?.Invoke(i, decoded.Bitmap, scores);
                        }
                    }
                    finally
                    {
                        engines.Add(engine);
                    }
                }));
        }
        finally
        {
            foreach (var engine in engines) engine.Dispose();
        }
        return results;
    }

    /// <summary>The model's transformers after its LoadImages step (nested chains flattened); the whole model when it
    /// has no such step (its input is the image column).</summary>
    static ITransformer AfterLoading(ITransformer model)
    {
        var steps = Flatten(model).ToList();
        int loader = steps.FindIndex(t => t is ImageLoadingTransformer);
        return loader < 0 ? model : new TransformerChain<ITransformer>(steps.Skip(loader + 1).ToArray());
    }

    static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    sealed class ImageRow
    {
        // any size passes: the declared one is not checked (ML.NET 5's ImageType() without a size throws)
        [ImageType(1, 1)]
        public MLImage? Image { get; set; }
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
        public bool Unfamiliar { get; set; }
    }
}

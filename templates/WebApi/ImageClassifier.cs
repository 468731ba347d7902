using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace WebApi;

/// <summary>One model, loaded once, and a pool of prediction engines over it: a PredictionEngine is not thread-safe,
/// so each request borrows one (the engines share the model's one ONNX Runtime session). Loading ends with one
/// prediction on a blank image (Model:WarmUp), so the first request does not pay for ONNX Runtime's first run.
/// <see cref="ServedModel"/> holds the one being served and loads the next when its file changes.</summary>
public sealed class ImageClassifier : IDisposable
{
    readonly ITransformer _loaded;
    readonly ITransformer _model;
    readonly DefaultObjectPool<PredictionEngine<ImageInput, ModelOutput>> _engines;
    readonly ImageDecoding _decoding;
    readonly DecodeBudget _budget;
    readonly float _minScore;
    readonly bool _flags;

    /// <summary>Loads the model zip at <paramref name="modelPath"/> (found by <see cref="Locate"/>); its decodes take
    /// their memory from <paramref name="budget"/>, the app's one budget, whichever model they are for.</summary>
    public ImageClassifier(string modelPath, ModelSettings settings, DecodeBudget budget)
    {
        if (!(settings.MinScore is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(settings), $"Model:MinScore in appsettings.json must be a score from 0 to 1 (such as 0.9), not {settings.MinScore}");
        _minScore = (float)settings.MinScore; // compared as the scores are held: a score of 0.9 is sure at 0.9
        ModelPath = modelPath;
        var mlContext = new MLContext();
        OnnxThreads.Apply(mlContext); // a container's CPU limit, not the node's cores
        _loaded = mlContext.Model.Load(ModelPath, out var inputSchema); // held: it owns the ONNX session the engines run
        try
        {
            var schema = _loaded.GetOutputSchema(inputSchema);
            Classes = ReadClasses(schema);
            _flags = schema.GetColumnOrNull("Unfamiliar")?.Type == BooleanDataViewType.Instance; // models trained before it, or without it, do not say
            ImageSize = settings.ImageSize > 0 ? settings.ImageSize : TrainedSide(_loaded, inputSchema)
                ?? throw new InvalidDataException($"{ModelPath} has no ResizeImages step to read the side it was trained at from: set Model:ImageSize in appsettings.json");
            _model = ImageDecoding.AfterLoadImages(_loaded);
            // engines are never disposed here: disposing one disposes the ONNX Runtime session they all share (a pool
            // that disposed the engines it did not keep failed the requests after it); the model's Dispose frees it
            _engines = new DefaultObjectPool<PredictionEngine<ImageInput, ModelOutput>>(
                new EnginePolicy(mlContext, _model), maximumRetained: Environment.ProcessorCount * 2);
            _decoding = new ImageDecoding(ImageSize, settings.MaxImagePixels);
            _budget = budget;
            if (settings.WarmUp)
            {
                using var blank = MLImage.CreateFromPixels(ImageSize, ImageSize, MLPixelFormat.Bgra32, new byte[ImageSize * ImageSize * 4]);
                Score(blank);
            }
        }
        catch
        {
            Dispose(); // the network's temporary copy goes with it
            throw;
        }
        Loaded = DateTimeOffset.UtcNow;
    }

    public string ModelPath { get; }

    /// <summary>The side images are decoded for: the model's own (its ResizeImages step's), unless Model:ImageSize names one.</summary>
    public int ImageSize { get; }

    /// <summary>When this model finished loading.</summary>
    public DateTimeOffset Loaded { get; }

    /// <summary>Model:Path, from the content root (the project folder under `dotnet run`: ../model.zip, the model as
    /// train wrote it); else the copy that build and publish put beside the app's assemblies, so a published folder
    /// (or a container made from it) serves the model wherever it runs.</summary>
    public static string Locate(string configured, string contentRoot)
    {
        var path = System.IO.Path.GetFullPath(configured, contentRoot);
        if (File.Exists(path)) return path;
        var beside = System.IO.Path.Combine(AppContext.BaseDirectory, System.IO.Path.GetFileName(configured));
        if (File.Exists(beside)) return beside;
        throw new FileNotFoundException($"Model:Path in appsettings.json: {path} not found, nor {beside} (where build and publish copy it)", path);
    }

    /// <summary>The class names in the order of the model's Score.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Decodes the bytes as training did, once the memory that takes is free (see <see cref="DecodeBudget"/>),
    /// and scores them; throws <see cref="InvalidDataException"/> with the reason when they are not a whole image
    /// within the limits, or need more memory than one image may take here.</summary>
    public async Task<Prediction> PredictAsync(byte[] bytes, CancellationToken cancellation)
    {
        MLImage image;
        long needed = DecodeBudget.Needed(_decoding, bytes);
        if (_budget.Refuses(needed) is { } tooMuch) throw new InvalidDataException(tooMuch);
        using (await _budget.TakeAsync(needed, cancellation))
            image = _decoding.Load(bytes);
        using (image) return Score(image);
    }

    Prediction Score(MLImage image)
    {
        var engine = _engines.Get();
        ModelOutput output;
        try
        {
            output = engine.Predict(new ImageInput { Image = image });
        }
        finally
        {
            _engines.Return(engine);
        }
        var scores = output.Score.Select((score, i) => new ClassScore(i < Classes.Count ? Classes[i] : i.ToString(), score))
            .OrderByDescending(s => s.Score).ToList();
        float top = scores.Count > 0 ? scores[0].Score : 0;
        bool? unfamiliar = _flags ? output.Unfamiliar : null;
        return new Prediction(output.PredictedLabel, top, top >= _minScore && unfamiliar != true, unfamiliar, scores);
    }

    /// <summary>The class names are the key values of the model's key-typed PredictedLabel (before the final
    /// MapKeyToValue), in Score's order.</summary>
    static IReadOnlyList<string> ReadClasses(DataViewSchema schema)
    {
        var key = schema.LastOrDefault(c => c.Name == "PredictedLabel" && c.Type is KeyDataViewType);
        if (key.Name == null || key.Annotations.Schema.GetColumnOrNull("KeyValues") == null) return [];
        VBuffer<ReadOnlyMemory<char>> values = default;
        key.GetKeyValues(ref values);
        return values.DenseValues().Select(v => v.ToString()).ToList();
    }

    /// <summary>The width of the images the model's first ResizeImages step makes: the side the network was trained at.</summary>
    static int? TrainedSide(ITransformer model, DataViewSchema input)
    {
        var schema = input;
        foreach (var step in ImageDecoding.Steps(model))
        {
            schema = step.GetOutputSchema(schema);
            if (step is ImageResizingTransformer)
                return schema.Select(column => column.Type).OfType<ImageDataViewType>().FirstOrDefault(image => image.Width > 0)?.Width;
        }
        return null;
    }

    /// <summary>Disposes the model: its ONNX Runtime session, and its network's temporary copy; called once no request
    /// holds this model (<see cref="ServedModel"/>).</summary>
    public void Dispose() => (_loaded as IDisposable)?.Dispose();

    sealed class EnginePolicy(MLContext mlContext, ITransformer model) : IPooledObjectPolicy<PredictionEngine<ImageInput, ModelOutput>>
    {
        // a model without the Unfamiliar column leaves ModelOutput.Unfamiliar false
        public PredictionEngine<ImageInput, ModelOutput> Create() =>
            mlContext.Model.CreatePredictionEngine<ImageInput, ModelOutput>(model, new PredictionEngineOptions { IgnoreMissingColumns = true });

        public bool Return(PredictionEngine<ImageInput, ModelOutput> engine) => true;
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Fine-tunes a pretrained CNN on an image column and a key-typed label column, and becomes a
/// <see cref="TransferTrainTransformer"/> that adds <c>Score</c> (class probabilities in label key order) and
/// <c>PredictedLabel</c> (a key with the label's key values).
/// </summary>
public sealed class TransferTrainEstimator : IEstimator<TransferTrainTransformer>
{
    readonly MLContext _mlContext;
    readonly TransferTrainOptions _options;
    Action<string>? _mlNetLog;

    /// <summary>The options' Log as it is when the step runs (the CLI sets it then), else mlContext.Log.</summary>
    Action<string> RunLog => _options.Log ?? (_mlNetLog ??= MlNetLog.For(_mlContext, "TransferTrain", "Fit"));

    public TransferTrainEstimator(MLContext mlContext, TransferTrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        _mlContext = mlContext;
        _options = options;
        Validate();
    }

    /// <summary>Checks the input columns by name and kind and adds Score (float vector), PredictedLabel (key) and, with
    /// <see cref="FineTuneOptions.FlagUnfamiliar"/>, Unfamiliar (boolean).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => OutputSchema(inputSchema, _options.FlagUnfamiliar);

    /// <summary>The output schema; <paramref name="unfamiliar"/>: with the Unfamiliar column (a job's imported network
    /// has none: its images were never seen here).</summary>
    internal SchemaShape OutputSchema(SchemaShape inputSchema, bool unfamiliar)
    {
        if (!TryFind(inputSchema, _options.ImageColumnName, out var image))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Image column '{_options.ImageColumnName}' not found; expected an image (LoadImages' output).");
        if (image.ItemType is not ImageDataViewType || image.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), ImageColumns.NotAnImage(_options.ImageColumnName, image.ItemType, image.Kind != SchemaShape.Column.VectorKind.Scalar));
        if (!TryFind(inputSchema, _options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' not found; expected a key (MapValueToKey's output).");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' must be a scalar key (apply MapValueToKey first), not {label.ItemType}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        // SchemaShape columns cannot be constructed through the public API; stock estimators that make columns of the
        // same kinds can: a float vector with one slot per class (Score), a copy of the label key (PredictedLabel), and
        // whether a float is missing (Unfamiliar, a boolean) of a scratch column.
        var columns = _mlContext.Transforms.Categorical.OneHotEncoding(_options.ScoreColumnName, _options.LabelColumnName)
            .Append(_mlContext.Transforms.CopyColumns(_options.PredictedLabelColumnName, _options.LabelColumnName));
        if (!unfamiliar) return columns.GetOutputSchema(inputSchema);
        const string scratch = "__TransferTrain_Schema";
        return columns
            .Append(_mlContext.Transforms.Conversion.ConvertType(scratch, _options.LabelColumnName, DataKind.Single))
            .Append(_mlContext.Transforms.IndicateMissingValues(_options.UnfamiliarColumnName, scratch))
            .Append(_mlContext.Transforms.DropColumns(scratch))
            .GetOutputSchema(inputSchema);
    }

    /// <summary>Trains and returns the fitted step. Cancelling <see cref="TransferTrainOptions.CancellationToken"/>
    /// throws <see cref="TrainingCancelledException"/> (an <see cref="OperationCanceledException"/>) after the current
    /// batch, carrying the model and checkpoint to resume from.</summary>
    public TransferTrainTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_options.CancellationToken.IsCancellationRequested) throw new TrainingCancelledException(null, input.Schema, _options.CancellationToken);
        var classes = CheckedColumns(input); // before libtorch loads: a wrong column is said first
        using var held = HeldTensors.Begin();
        var (device, start, train, validation, context) = Inputs(input, classes);
        using var result = RunRecipe(start, train, validation, context, input.Schema);
        if (result.Training.Cancelled && result.Training.Checkpoint == null)
            throw new TrainingCancelledException(null, input.Schema, _options.CancellationToken);
        var skipped = train.Problems.Concat(validation?.Problems ?? []).ToList();
        var health = DataHealthReport.Of(result.Health, classes, train.Rows, (context.TestImages as DataViewImageSource)?.Rows);

        var fitted = Step(_mlContext, input, result, classes, _options, skipped, health);
        // cancelled mid-training: the partial model (which owns the ONNX file now) travels with the exception
        if (result.Training.Cancelled) throw new TrainingCancelledException(fitted, input.Schema, _options.CancellationToken);
        return fitted;
    }

    /// <summary>The recipe's run; cancelled while it waited for another run in the process to end (runs take turns),
    /// the same exception as cancelled before it began.</summary>
    RecipeResult RunRecipe(StartingPoint start, IImageSource train, IImageSource? validation, TrainingContext context, DataViewSchema schema)
    {
        try
        {
            return TransferRecipe.Run(_options, start, train, validation, context);
        }
        catch (OperationCanceledException e) when (e is not TrainingCancelledException && _options.CancellationToken.IsCancellationRequested)
        {
            throw new TrainingCancelledException(null, schema, _options.CancellationToken);
        }
    }

    /// <summary>The recipe up to its first training step (<see cref="TransferRecipe.Prepare"/>) on the same inputs
    /// <see cref="Fit"/> reads, for a job that trains elsewhere: with the label's key values (the classes), the input
    /// rows of the training data and of <see cref="TransferTrainOptions.ValidationSet"/> whose images were read, and
    /// why the others were not.</summary>
    internal (RecipeResult Result, string[] Classes, IReadOnlyList<long> TrainRows, IReadOnlyList<long> ValidationRows, IReadOnlyList<string> Skipped)
        Prepare(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var classes = CheckedColumns(input);
        var (_, start, train, validation, context) = Inputs(input, classes);
        var result = TransferRecipe.Prepare(_options, start, train, validation, context);
        return (result, classes, train.Rows, validation?.Rows ?? [], [.. train.Problems, .. validation?.Problems ?? []]);
    }

    /// <summary>The image and label columns of the data and of the test and validation sets, checked by name and
    /// kind; the label's key values (the classes).</summary>
    internal string[] CheckedColumns(IDataView input)
    {
        ImageColumns.CheckImage(input.Schema, _options.ImageColumnName);
        var classes = ImageColumns.CheckLabel(input.Schema, _options.LabelColumnName);
        if (_options.TestSet != null) ImageColumns.CheckImage(_options.TestSet.Schema, _options.ImageColumnName);
        if (_options.TestSet != null && !ImageColumns.CheckLabel(_options.TestSet.Schema, _options.LabelColumnName).SequenceEqual(classes))
            throw new ArgumentException($"TestSet's '{_options.LabelColumnName}' key values differ from the training data's; map both with the same MapValueToKey transformer.", nameof(TransferTrainOptions.TestSet));
        if (_options.ValidationSet != null)
        {
            ImageColumns.CheckImage(_options.ValidationSet.Schema, _options.ImageColumnName);
            if (!ImageColumns.CheckLabel(_options.ValidationSet.Schema, _options.LabelColumnName).SequenceEqual(classes))
                throw new ArgumentException($"ValidationSet's '{_options.LabelColumnName}' key values differ from the training data's; map both with the same MapValueToKey transformer.", nameof(TransferTrainOptions.ValidationSet));
        }
        return classes;
    }

    /// <summary>What the recipe runs on, for the <paramref name="classes"/> of columns already checked: the device,
    /// the starting point, the image sources (with the file check and the decoded-image cache) and the run's context.</summary>
    (DeviceChoice Device, StartingPoint Start, DataViewImageSource Train, DataViewImageSource? Validation, TrainingContext Context)
        Inputs(IDataView input, string[] classes)
    {
        var device = TransferTrainPreflight.Device(_mlContext, _options); // as the CLI's preflight chose it
        RunLog($"device: {device.Device} ({device.Reason})");
        var start = _options.ContinueFromModelPath is { } zip ? ContinuedModel.From(zip, classes) : StartingPoint.For(_options);
        RunLog($"architecture {start.Architecture.Name}, weights {start.Description}");
        var cache = NewImageCache();
        var train = ImageSource(input, classes, "training", cache, _options.FailOnUnreadableImages);
        var validation = _options.ValidationSet is { } held ? ImageSource(held, classes, "validation", cache, _options.FailOnUnreadableImages) : null;
        var test = _options.TestSet == null || !_options.CheckData || _options.ResumeFrom != null ? null
            : ImageSource(_options.TestSet, classes, "test", cache, failOnUnreadable: false, _options.TestImageFolder);
        var context = new TrainingContext
        {
            TestImages = test,
            Device = device.ToTorch(),
            Progress = _options.Progress == null ? null : new Reporter(_options.Progress),
            Log = RunLog,
            Cancellation = _options.CancellationToken,
            Resume = _options.ResumeFrom,
            Checkpoint = _options.Checkpoint,
            CheckpointInterval = _options.CheckpointInterval,
        };
        return (device, start, train, validation, context);
    }

    /// <summary>Where the run keeps the images it decodes: <see cref="TransferTrainOptions.CacheDirectory"/> (reused by a
    /// later run on the same files) or MLContext.TempFilePath.</summary>
    internal ImageCache NewImageCache(Action<string>? log = null) =>
        new(_options.CacheDirectory ?? _mlContext.TempFilePath, reuse: _options.CacheDirectory != null, log ?? RunLog);

    /// <summary>The images of <paramref name="data"/> as this step reads them: from the files LoadImages read (under
    /// <paramref name="folder"/>, else <see cref="TransferTrainOptions.ImageFolder"/>) when
    /// <see cref="TransferTrainOptions.ImagePathColumnName"/> names them, else through the image column.</summary>
    internal DataViewImageSource ImageSource(IDataView data, string[] classes, string name, ImageCache cache, bool failOnUnreadable,
        string? folder = null, Action<string>? log = null) =>
        new(_mlContext, data, _options.ImageColumnName, _options.LabelColumnName, classes, name, log ?? RunLog,
            _options.ImagePathColumnName is { } paths
                ? new ImageFiles(paths, folder ?? _options.ImageFolder, _options.MaxImagePixels).CheckedIn(data.Schema, nameof(TransferTrainOptions.ImagePathColumnName))
                : null,
            cache, failOnUnreadable);

    /// <summary>The fitted step for a trained network: exported to ONNX in MLContext.TempFilePath (the step owns the
    /// file) and wrapped in the stock scoring chain.</summary>
    internal static TransferTrainTransformer Step(MLContext mlContext, IDataView input, RecipeResult result, string[] classes,
        TransferTrainOptions options, IReadOnlyList<string> skipped, DataHealthReport? health = null)
    {
        var onnxPath = Path.Combine(mlContext.TempFilePath, StaleFiles.OnnxFileName());
        try
        {
            // OnnxTransformer binds ONNX inputs and outputs to columns of the same names
            var bytes = OnnxExporter.Export(result.Model, result.Architecture.Name, result.Preprocessing, classes, 1,
                new OnnxExportNames(ImageColumns.Pixels, options.ScoreColumnName, ScoringChain.PredictedIndex, ScoringChain.UnfamiliarIndex),
                result.Flip.Applied, result.Record.Calibration.Temperature, result.Record.Familiarity);
            File.WriteAllBytes(onnxPath, bytes);
            StaleFiles.DeleteAtExit(onnxPath); // the step deletes it on Dispose, which a program may never call
            var chain = ScoringChain.Build(mlContext, input, onnxPath, options.ImageColumnName, result.ImageSize, classes,
                options.ScoreColumnName, options.PredictedLabelColumnName, result.Record.Familiarity is null ? null : options.UnfamiliarColumnName);
            return new TransferTrainTransformer(chain, onnxPath, classes, result.Record, skipped) { DataHealth = health ?? DataHealthReport.NotChecked };
        }
        catch
        {
            if (File.Exists(onnxPath)) File.Delete(onnxPath);
            StaleFiles.KeepAtExit(onnxPath);
            throw;
        }
    }

    static bool TryFind(SchemaShape schema, string name, out SchemaShape.Column column)
    {
        column = schema.LastOrDefault(c => c.Name == name);
        return column.Name != null;
    }

    /// <summary>Checks the options by name before any work: column names, the architecture, every engine option.</summary>
    void Validate() => _options.Validate();

    /// <summary>Calls the user's callback on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
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

    public TransferTrainEstimator(MLContext mlContext, TransferTrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        _mlContext = mlContext;
        _options = options;
        Validate();
    }

    /// <summary>Checks the input columns by name and kind and adds Score (float vector) and PredictedLabel (key).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (!TryFind(inputSchema, _options.ImageColumnName, out var image))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Image column '{_options.ImageColumnName}' not found; expected an image (LoadImages' output).");
        if (image.ItemType is not ImageDataViewType || image.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{_options.ImageColumnName}' must be an image (LoadImages' output), not {image.ItemType}.");
        if (!TryFind(inputSchema, _options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' not found; expected a key (MapValueToKey's output).");
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{_options.LabelColumnName}' must be a scalar key (apply MapValueToKey first), not {label.ItemType}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        // SchemaShape columns cannot be constructed through the public API; stock estimators that make columns of the
        // same kinds can: a float vector with one slot per class (Score), a copy of the label key (PredictedLabel).
        return _mlContext.Transforms.Categorical.OneHotEncoding(_options.ScoreColumnName, _options.LabelColumnName)
            .Append(_mlContext.Transforms.CopyColumns(_options.PredictedLabelColumnName, _options.LabelColumnName))
            .GetOutputSchema(inputSchema);
    }

    public TransferTrainTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumns.CheckImage(input.Schema, _options.ImageColumnName);
        var classes = ImageColumns.CheckLabel(input.Schema, _options.LabelColumnName);
        if (_options.ValidationSet != null)
        {
            ImageColumns.CheckImage(_options.ValidationSet.Schema, _options.ImageColumnName);
            if (!ImageColumns.CheckLabel(_options.ValidationSet.Schema, _options.LabelColumnName).SequenceEqual(classes))
                throw new ArgumentException($"ValidationSet's '{_options.LabelColumnName}' key values differ from the training data's; map both with the same MapValueToKey transformer.", nameof(TransferTrainOptions.ValidationSet));
        }

        var device = DeviceSelector.Select(new DeviceRequest(_options.Device, _mlContext.GpuDeviceId, _mlContext.FallbackToCpu));
        _options.Log?.Invoke($"device: {device.Device} ({device.Reason})");
        var start = StartingPoint.Resolve(_options, classes);
        _options.Log?.Invoke($"architecture {start.Architecture.Name}, weights {start.Description}");
        int side = _options.ImageSize ?? start.Preprocessing.InputSize;
        var preprocessing = start.Preprocessing.At(side);

        var train = ImageTensorReader.Read(_mlContext, input, _options.ImageColumnName, _options.LabelColumnName, classes, side);
        ImageTensorReader.Result? validation = _options.ValidationSet == null ? null
            : ImageTensorReader.Read(_mlContext, _options.ValidationSet, _options.ImageColumnName, _options.LabelColumnName, classes, side);
        int skipped = train.Skipped + (validation?.Skipped ?? 0);
        if (skipped > 0)
            _options.Log?.Invoke($"skipped {skipped} rows: {string.Join("; ", train.Problems.Concat(validation?.Problems ?? []).Take(5))}");

        // the new classifier's initial weights come from torch's process-wide generator: seed it, or the model
        // depends on whatever else drew from it first
        TorchSharp.torch.random.manual_seed(_options.Seed);
        using var model = start.CreateModel(classes.Length);
        try
        {
            AutoDecision? auto = null;
            var strategy = _options.Strategy;
            if (strategy == FineTuneStrategy.Auto)
            {
                auto = AutoStrategy.Choose(model, start.Architecture, preprocessing, train.Data, device.ToTorch(), _options.Seed);
                strategy = auto.Strategy;
                _options.Log?.Invoke($"strategy {strategy}: {auto.Reason}");
            }
            var plan = StrategyPlan.For(start.Architecture, strategy);
            var result = FineTuner.Fit(model, plan, preprocessing, train.Data, validation?.Data,
                EngineOptions(device, augment: _options.Augment ?? !plan.BackboneFrozen), _options.CancellationToken);

            var onnxPath = Path.Combine(_mlContext.TempFilePath, $"mlnettransfer-{Guid.NewGuid():N}.onnx");
            try
            {
                // OnnxTransformer binds ONNX inputs and outputs to columns of the same names
                var bytes = OnnxExporter.Export(model, start.Architecture.Name, preprocessing, classes, 1,
                    new OnnxExportNames(ImageColumns.Pixels, _options.ScoreColumnName, ScoringChain.PredictedIndex));
                File.WriteAllBytes(onnxPath, bytes);
                var chain = ScoringChain.Build(_mlContext, input, onnxPath, _options.ImageColumnName, side, classes,
                    _options.ScoreColumnName, _options.PredictedLabelColumnName);
                return new TransferTrainTransformer(chain, onnxPath, start.Architecture.Name, classes, side, result, auto, device.Device, skipped);
            }
            catch
            {
                if (File.Exists(onnxPath)) File.Delete(onnxPath);
                throw;
            }
        }
        finally
        {
            train.Data.Dispose();
            validation?.Data.Dispose();
        }
    }

    static bool TryFind(SchemaShape schema, string name, out SchemaShape.Column column)
    {
        column = schema.LastOrDefault(c => c.Name == name);
        return column.Name != null;
    }

    FineTuneOptions EngineOptions(DeviceChoice? device, bool augment) => new()
    {
        Epochs = _options.Epochs,
        BatchSize = _options.BatchSize,
        LearningRate = _options.LearningRate,
        Optimizer = _options.Optimizer,
        Schedule = _options.Schedule,
        LabelSmoothing = _options.LabelSmoothing,
        BalanceClasses = _options.BalanceClasses,
        Augment = augment,
        ValidationFraction = _options.ValidationSet == null ? _options.ValidationFraction : 0,
        EarlyStoppingPatience = _options.EarlyStoppingPatience,
        Seed = _options.Seed,
        Device = device?.ToTorch(),
        Progress = _options.Progress == null ? null : new Reporter(_options.Progress),
    };

    /// <summary>Checks the options by name before any work: column names, the architecture, and every engine
    /// option through the same mapping that later feeds the engine.</summary>
    void Validate()
    {
        foreach (var (name, value) in new[]
                 {
                     (nameof(_options.LabelColumnName), _options.LabelColumnName), (nameof(_options.ImageColumnName), _options.ImageColumnName),
                     (nameof(_options.ScoreColumnName), _options.ScoreColumnName), (nameof(_options.PredictedLabelColumnName), _options.PredictedLabelColumnName),
                 })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{name} must name a column.", name);
        if (_options.ContinueFromModelPath == null) ArchitectureRegistry.Get(_options.Architecture);
        if (_options.ImageSize is < 8 or > 1024) throw new ArgumentOutOfRangeException(nameof(_options.ImageSize), _options.ImageSize, "must be between 8 and 1024 pixels");
        EngineOptions(device: null, augment: true).Validate();
    }

    /// <summary>Calls the user's callback on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

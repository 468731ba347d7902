using Microsoft.ML;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.MlNet;

/// <summary>
/// What a TransferTrain run can be refused for before any image is decoded, in one place: the options by name, the
/// starting weights (named, not read), the device, the memory and disk the run will take, and the validation split
/// the recipe will draw. The CLI's <c>train</c>, <c>job export</c> and memory check call it; the estimator makes the
/// same checks when it is built (the options) and fitted (the device, the weights).
/// </summary>
public static class TransferTrainPreflight
{
    /// <summary>Checks every option by name (an <see cref="ArgumentException"/> whose ParamName is the option) and
    /// that the starting weights exist (a <see cref="NoPretrainedWeightsException"/> for an architecture without
    /// embedded weights and none given; a continued model brings its own).</summary>
    public static void CheckOptions(TransferTrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.ContinueFromModelPath == null)
            PretrainedCatalog.Resolve(ArchitectureRegistry.Get(options.Architecture), options.Weights);
    }

    /// <summary>The device the run trains on, as ML.NET chooses one (<see cref="MLContext.GpuDeviceId"/>,
    /// <see cref="MLContext.FallbackToCpu"/>) within the options' <see cref="FineTuneOptions.Device"/>; a GPU this
    /// machine lacks throws <see cref="DeviceUnavailableException"/>.</summary>
    public static DeviceChoice Device(MLContext mlContext, TransferTrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        return DeviceSelector.Select(new DeviceRequest(options.Device, mlContext.GpuDeviceId, mlContext.FallbackToCpu));
    }

    /// <summary>The memory and disk a run on <paramref name="trainImages"/> images needs, at the largest side it can
    /// use (Auto's sides are the architecture's own or smaller) and the CPU's batch (a GPU's larger default keeps its
    /// activations in the device's memory, not this machine's).</summary>
    public static MemoryEstimate Resources(TransferTrainOptions options, int trainImages)
    {
        ArgumentNullException.ThrowIfNull(options);
        TorchRuntime.EnsureLoaded();
        var architecture = ArchitectureRegistry.Get(options.Architecture);
        int side = options.ImageSize ?? architecture.DefaultInputSize;
        return MemoryEstimate.For(architecture, side, options.BatchSize ?? DefaultBatchSize.Cpu, trainImages,
            backboneTrains: options.Strategy != FineTuneStrategy.HeadOnly);
    }

    /// <summary>The rows (indices into <paramref name="labels"/>, the label of each training row in order) the recipe
    /// fits on and validates on: the stratified draw of <see cref="FineTuneOptions.ValidationFraction"/> for the
    /// options' seed that <see cref="TransferTrainEstimator.Fit"/> makes, or every row when the fraction is 0.</summary>
    public static (IReadOnlyList<long> Fit, IReadOnlyList<long> Validation) ValidationSplit(TransferTrainOptions options, IReadOnlyList<long> labels)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(labels);
        var (fit, validation) = StratifiedSplit.FitAndValidation(labels, options.ValidationFraction, options.Seed);
        return (fit, validation);
    }
}

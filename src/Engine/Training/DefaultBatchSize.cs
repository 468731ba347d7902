using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Recipe;
using TorchSharp;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// The batch a run takes when <see cref="FineTuneOptions.BatchSize"/> is not given. On the CPU 32: a larger batch
/// buys no throughput there (every image's work is done by the same cores) and costs steps. On a GPU, where a batch
/// of 32 leaves most of the device waiting on kernel launches, the largest of 32, 64, 128 and 256 that still gives
/// every epoch at least <see cref="MinimumStepsPerEpoch"/> steps (a 2 000-image set keeps the CPU's 32, the step
/// count its recipe was measured with; 10 000 images train with 128) and whose training activations, estimated at
/// the side the run trains at, stay under <see cref="ActivationBudgetBytes"/> (so an 8 GB card holds it: ResNet-18
/// takes 64 at 224 px, 256 at 112).
/// </summary>
public static class DefaultBatchSize
{
    public const int Cpu = FineTuneOptions.Defaults.BatchSize;
    public const int LargestOnGpu = 256;
    public const int MinimumStepsPerEpoch = 50;
    public const long ActivationBudgetBytes = 4L << 30;

    public static int For(DeviceType device, long trainImages, Architecture architecture, int side)
    {
        if (device == DeviceType.CPU) return Cpu;
        int batch = Cpu;
        while (batch * 2 <= LargestOnGpu && trainImages / (batch * 2) >= MinimumStepsPerEpoch
            && MemoryEstimate.For(architecture, side, batch * 2, 0, backboneTrains: true).ActivationBytes <= ActivationBudgetBytes)
            batch *= 2;
        return batch;
    }

    /// <summary>Why <paramref name="batch"/> was taken, for the log.</summary>
    public static string Describe(DeviceType device, int batch, long trainImages) => device == DeviceType.CPU
        ? $"batch {batch} (the CPU's default)"
        : $"batch {batch} (the GPU's default for {trainImages} training images: at least {MinimumStepsPerEpoch} steps an epoch, at most {LargestOnGpu})";
}

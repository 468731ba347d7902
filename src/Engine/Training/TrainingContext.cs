using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>What a run needs besides its options: where it trains, whom it tells, when to stop, and where an
/// interrupted run left off. Nothing here is an option a user would save with a model.</summary>
public sealed class TrainingContext
{
    /// <summary>Where the model trains; CPU when null.</summary>
    public Device? Device { get; init; }

    /// <summary>Called after every batch and epoch.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>One-line messages: decisions and the numbers behind them.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Stops training after the current batch; the result then carries a checkpoint to resume from.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Where an interrupted run stopped: training continues from that batch with the same schedule position,
    /// optimizer state, best epoch and history, and ends where the uninterrupted run would have.</summary>
    public TrainingCheckpoint? Resume { get; init; }

    /// <summary>Called at the end of an epoch that training goes on after, at most once per
    /// <see cref="CheckpointInterval"/>, with where the run stands and the whole network's weights
    /// (<see cref="TrainingCheckpoint.Weights"/>): saved (<see cref="TrainingCheckpoint.Save"/>), it lets a process
    /// that dies without a word — killed, out of memory, its machine gone — resume from that epoch (a run given it as
    /// <see cref="Resume"/> ends where the uninterrupted run would have). The checkpoint's tensors are freed when the
    /// call returns.</summary>
    public Action<TrainingCheckpoint>? Checkpoint { get; init; }

    /// <summary>The least time between two calls of <see cref="Checkpoint"/>, counted from training's start; zero:
    /// every epoch.</summary>
    public TimeSpan CheckpointInterval { get; init; } = DefaultCheckpointInterval;

    /// <summary>Two minutes: a ResNet-18 trained whole keeps 254 MB (its weights, its best epoch's, the optimizer's
    /// state) in 0.4–1.8 s on this project's 2-core machine, about 1 % of the time between two; a run killed outright
    /// loses at most this and an epoch.</summary>
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromMinutes(2);

    /// <summary>The images the trained model will be tested on, for the data checks alone (<see cref="FineTuneOptions.CheckData"/>):
    /// those with a copy among the training images are named as leaks. Never trained, validated or chosen on.</summary>
    public Recipe.IImageSource? TestImages { get; init; }

    /// <summary>Training batches prepared ahead on a background thread (read, copied to the device, augmented,
    /// normalised) while the current step runs; 0 prepares each inline. The run is the same either way.</summary>
    public int PrefetchBatches { get; init; } = DefaultPrefetchBatches;

    public const int DefaultPrefetchBatches = 3;

    /// <summary>How often the loop reads the loss and accuracy sums back from the device within an epoch (each read
    /// waits for the device); null: every batch on the CPU, where it costs nothing and a non-finite loss is caught
    /// before its step, and at most 4 times a second on a GPU. The model is the same either way; only the batch at
    /// which a non-finite loss is noticed differs (the best weights are restored in both cases).</summary>
    public TimeSpan? DeviceReadInterval { get; init; }

    /// <summary>On a GPU, decoded training and validation images up to this many bytes are copied to it once and
    /// batches are gathered there (no host copy per batch); larger sets stream from the store through pinned memory.
    /// 2 GB by default: safe beside a ResNet's training on an 8 GB card (TorchSharp cannot ask a device for its free
    /// memory).</summary>
    public long DeviceStoreBytes { get; init; } = 2L << 30;

    /// <summary>Whether the optimizer steps on one flat buffer per parameter group (<see cref="FlatOptimizer"/>: a few
    /// kernels per group instead of about nine per parameter tensor, its Scalars held); null or true: so; false:
    /// TorchSharp's own optimizer, as tests compare. The same model either way.</summary>
    public bool? FlatOptimizer { get; init; }

    /// <summary>Untimed forward and backward passes before the first epoch, changing nothing (BatchNorm in eval
    /// mode, gradients zeroed after); null: one on a GPU, where the first step also selects kernels and grows the
    /// allocator, and none on the CPU, where the first step costs what the others do. The model is the same either way.</summary>
    public int? WarmUpSteps { get; init; }

    /// <summary>For tests: what a strategy at a side costs, in place of Auto's timed steps (whose noise on a tiny
    /// network would make a test of what Auto does with them flaky).</summary>
    internal Func<Strategies.FineTuneStrategy, int, Strategies.AutoStrategy.Cost>? CandidateCost { get; init; }

    /// <summary>For tests: the clock the time budget counts on (the system's when null).</summary>
    internal TimeProvider? Time { get; init; }

    internal Device TrainingDevice => Device ?? CPU;

    /// <summary>The training device as the device selector names it: <c>cpu</c> or <c>cuda:N</c>.</summary>
    internal string DeviceName => TrainingDevice.type == DeviceType.CUDA ? $"cuda:{Math.Max(TrainingDevice.index, 0)}" : "cpu";
}

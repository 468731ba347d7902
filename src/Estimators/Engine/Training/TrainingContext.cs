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

    /// <summary>Training batches prepared ahead on a background thread (read, copied to the device, augmented,
    /// normalised) while the current step runs; 0 prepares each inline. The run is the same either way.</summary>
    public int PrefetchBatches { get; init; } = 3;

    internal Device TrainingDevice => Device ?? CPU;
}

using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Progress;

/// <summary>The time left after an epoch, from the epochs this process has trained: their mean since the first one's
/// start, times the epochs to go. Decoding, the classifier's solve and Auto's measurements come before the first epoch
/// and are no epoch's cost; a resumed run counts from the epoch it resumed at. The engine reports batches as they end,
/// so the first epoch's start is estimated from its first report: batch b of B at time t means the epoch began
/// (end − t)·b/(B − b) before t. With nothing to estimate from (one batch an epoch), the count starts at the next epoch.</summary>
public sealed class EpochEta
{
    double? _startedAt; // when epoch _startEpoch began; the epochs from it on are counted
    int _startEpoch;
    (int Epoch, int Batch, double At)? _firstReport;

    /// <summary>Takes a progress event seen at <paramref name="seconds"/> (any steady clock); at an epoch's end,
    /// returns the time left, or null while nothing says yet how long an epoch takes.</summary>
    public TimeSpan? Observe(TrainingProgress progress, double seconds)
    {
        if (!progress.IsEpochEnd)
        {
            if (_startedAt == null && _firstReport?.Epoch != progress.Epoch) _firstReport = (progress.Epoch, progress.Batch!.Value, seconds);
            return null;
        }
        int left = Math.Max(progress.Epochs - progress.Epoch, 0);
        if (_startedAt == null)
        {
            if (_firstReport is { } first && first.Epoch == progress.Epoch && first.Batch < progress.Batches)
            {
                _startedAt = first.At - (seconds - first.At) * first.Batch / (progress.Batches - first.Batch);
                _startEpoch = progress.Epoch;
            }
            else
            {
                _startedAt = seconds;
                _startEpoch = progress.Epoch + 1;
                return left == 0 ? TimeSpan.Zero : null;
            }
        }
        int done = progress.Epoch - _startEpoch + 1;
        return done <= 0 ? null : TimeSpan.FromSeconds((seconds - _startedAt.Value) / done * left);
    }
}

using System.Diagnostics;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// An epoch's training loss and accuracy sums, and its count of non-finite losses, kept on the training device: adding
/// a batch launches a few kernels and never waits. They are read back — a host synchronisation on a GPU — when
/// <see cref="Due"/> (every batch when the interval is zero, as on the CPU where reading costs nothing; otherwise at most
/// once per interval) and when the loop must know (the epoch's end, a cancellation).
/// </summary>
internal sealed class EpochSums : IDisposable
{
    readonly Tensor _loss, _correct, _nonFinite;
    readonly TimeSpan _interval;
    readonly Stopwatch _sinceRead = Stopwatch.StartNew();
    long _pending;

    public EpochSums(Device device, TimeSpan interval, double lossSum = 0, long correct = 0, long seen = 0)
    {
        _interval = interval;
        _loss = tensor(new[] { lossSum }, ScalarType.Float64, device);
        _correct = tensor(new[] { correct }, ScalarType.Int64, device);
        _nonFinite = zeros(1, ScalarType.Int64, device);
        (LossSum, Correct, Seen) = (lossSum, correct, seen);
    }

    /// <summary>As of the last read.</summary>
    public double LossSum { get; private set; }
    public long Correct { get; private set; }
    public long Seen { get; private set; }
    public long NonFinite { get; private set; }

    /// <summary>Whether each batch is read back before its step (the non-finite check then stops before the step).</summary>
    public bool EachBatch => _interval <= TimeSpan.Zero;

    /// <summary>Whether a read is due by the interval.</summary>
    public bool Due => EachBatch || _sinceRead.Elapsed >= _interval;

    /// <summary>Adds a batch's mean loss (weighted by its <paramref name="count"/> images) and whether it is finite.</summary>
    public void AddLoss(Tensor loss, long count)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var value = loss.detach();
        _nonFinite.PlusInPlace(value.isfinite().logical_not().to_type(ScalarType.Int64));
        _loss.PlusInPlace(value.to_type(ScalarType.Float64).Times(count));
        _pending += count;
    }

    /// <summary>Adds a batch's correct predictions.</summary>
    public void AddCorrect(Tensor logits, Tensor labels)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        _correct.PlusInPlace(logits.detach().argmax(1).eq(labels).sum());
    }

    /// <summary>Reads only the non-finite count (one value).</summary>
    public long ReadNonFinite() => NonFinite = _nonFinite.item<long>();

    /// <summary>Reads every sum back.</summary>
    public void Read()
    {
        LossSum = _loss.item<double>();
        Correct = _correct.item<long>();
        NonFinite = _nonFinite.item<long>();
        Seen += _pending;
        _pending = 0;
        _sinceRead.Restart();
    }

    public void Dispose()
    {
        _loss.Dispose();
        _correct.Dispose();
        _nonFinite.Dispose();
    }
}

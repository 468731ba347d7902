using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Data;

/// <summary>
/// Prepares a run of training batches ahead of the step that consumes them: a background thread calls
/// <c>make(batch)</c> (gather from the store, copy to the device, augment, normalise) for batches first … last and
/// keeps at most <c>depth</c> of them ready, so reading and preparing the next batches overlaps the current step.
/// Batches arrive in order and each is a function of its number alone, so the run is the same as with
/// <c>depth</c> 0, which prepares each batch inline when asked. The producer works in its own dispose scope per
/// batch (scopes are per thread) and hands the tensors over unscoped: the consumer owns and disposes them.
/// </summary>
public sealed class BatchProducer : IDisposable
{
    readonly Func<int, (Tensor X, Tensor Y)> _make;
    readonly BlockingCollection<(Tensor X, Tensor Y)>? _queue;
    readonly CancellationTokenSource _stop = new();
    readonly Thread? _thread;
    int _next;
    readonly int _first, _end;
    Exception? _error;

    public BatchProducer(Func<int, (Tensor X, Tensor Y)> make, int first, int end, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        (_make, _first, _next, _end) = (make, first, first, end);
        if (depth == 0 || first >= end) return;
        _queue = new BlockingCollection<(Tensor, Tensor)>(depth);
        _thread = new Thread(Produce) { IsBackground = true, Name = "batch producer" };
        _thread.Start();
    }

    /// <summary>The next batch, in order (blocks until it is ready); the caller disposes it.</summary>
    public (Tensor X, Tensor Y) Next()
    {
        if (_next >= _end) throw new InvalidOperationException("no batches left");
        if (_queue == null) return Unscoped(_next++);
        _next++;
        try
        {
            return _queue.Take();
        }
        catch (InvalidOperationException) when (_error != null)
        {
            throw new InvalidOperationException($"preparing a training batch failed: {_error.Message}", _error);
        }
    }

    void Produce()
    {
        try
        {
            for (int batch = _first; batch < _end && !_stop.IsCancellationRequested; batch++) // not _next: the consumer may have moved it already
            {
                var prepared = Unscoped(batch);
                try
                {
                    _queue!.Add(prepared, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    prepared.X.Dispose();
                    prepared.Y.Dispose();
                    break;
                }
            }
        }
        catch (Exception e)
        {
            _error = e;
        }
        finally
        {
            _queue!.CompleteAdding();
        }
    }

    (Tensor X, Tensor Y) Unscoped(int batch)
    {
        using var scope = NewDisposeScope();
        var (x, y) = _make(batch);
        return (x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }

    /// <summary>Stops the producer and disposes the batches it had ready.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        if (_queue != null)
        {
            while (_queue.TryTake(out var left))
            {
                left.X.Dispose();
                left.Y.Dispose();
            }
            _queue.Dispose();
        }
        _stop.Dispose();
    }
}

namespace MlNetTransfer.Runtime;

/// <summary>
/// Runs that seed torch take turns in a process. libtorch draws a new layer's initial weights and every dropout mask
/// from one generator per process, and a run makes its draws repeatable by seeding that generator
/// (<c>torch.random.manual_seed</c>) before each; two runs on two threads at once reseed it under each other, so each
/// gets a model no seed reproduces (measured: 16 concurrent fits of a small network, some differing from the same
/// seed's fit alone). A run holds the turn from its first seeding to its end; another waits, says so once, and stops
/// waiting when its cancellation token fires (on a CPU, two runs at once would only share the cores libtorch's operators
/// already use). The turn is re-entrant on its thread (the recipe's run calls the loop, which takes it too).
/// </summary>
public static class SeededRunGate
{
    static readonly object Gate = new();

    /// <summary>How long a waiting run sleeps between looks at its cancellation token.</summary>
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>Takes the process's turn, waiting for a run on another thread to end; dispose the result on the same
    /// thread to give the turn back. Throws <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellation"/> fires while waiting.</summary>
    public static IDisposable Enter(Action<string>? log = null, CancellationToken cancellation = default)
    {
        if (Monitor.IsEntered(Gate)) return new Turn(owned: false);
        if (!Monitor.TryEnter(Gate))
        {
            log?.Invoke("another run in this process is training: this one waits for it to end (torch's random generator is the process's, " +
                "and runs take turns so that each one's seed fixes its model)");
            while (!Monitor.TryEnter(Gate, Poll)) cancellation.ThrowIfCancellationRequested();
        }
        return new Turn(owned: true);
    }

    /// <summary>Whether the calling thread holds the turn.</summary>
    public static bool IsHeld => Monitor.IsEntered(Gate);

    sealed class Turn(bool owned) : IDisposable
    {
        bool _owned = owned;

        public void Dispose()
        {
            if (!_owned) return;
            _owned = false;
            Monitor.Exit(Gate);
        }
    }
}

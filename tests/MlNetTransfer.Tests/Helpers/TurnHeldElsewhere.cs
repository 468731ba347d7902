using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Another run's turn (<see cref="SeededRunGate"/>), held on a thread of its own from construction until
/// <see cref="ReleaseAsync"/>.</summary>
public sealed class TurnHeldElsewhere : IDisposable
{
    readonly ManualResetEventSlim _held = new(), _release = new();
    readonly Task _holder;

    public TurnHeldElsewhere(CancellationToken token)
    {
        _holder = Task.Run(() =>
        {
            using (SeededRunGate.Enter(null, token))
            {
                _held.Set();
                _release.Wait(token);
            }
        }, token);
        _held.Wait(token);
    }

    /// <summary>Returns once <paramref name="condition"/> holds, or after <paramref name="limit"/> (the caller asserts).</summary>
    public static async Task Until(Func<bool> condition, TimeSpan limit, CancellationToken token)
    {
        for (var waited = TimeSpan.Zero; !condition() && waited < limit; waited += TimeSpan.FromMilliseconds(20))
            await Task.Delay(20, token);
    }

    /// <summary>Gives the turn back and waits until it is.</summary>
    public Task ReleaseAsync()
    {
        _release.Set();
        return _holder;
    }

    public void Dispose()
    {
        _release.Set();
        _holder.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(10)); // the holder has given the turn back
        _held.Dispose();
        _release.Dispose();
    }
}

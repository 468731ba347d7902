using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Runs that seed torch take turns in a process: a second waits and says so, a cancelled wait ends, and the
/// run that holds the turn takes it again on its own thread without waiting for itself.</summary>
[Collection(TorchRandomCollection.Name)]
public class SeededRunGateTests
{
    [Fact]
    public async Task A_second_run_waits_for_the_first_to_end_and_says_so_once()
    {
        var token = TestContext.Current.CancellationToken;
        var messages = new List<string>();
        using var first = new TurnHeldElsewhere(token);

        var entered = false;
        var second = Task.Run(() =>
        {
            using (SeededRunGate.Enter(m => { lock (messages) messages.Add(m); }, token)) entered = true;
        }, token);
        bool Said() { lock (messages) return messages.Count > 0; }
        await TurnHeldElsewhere.Until(Said, TimeSpan.FromMinutes(1), token);
        await Task.Delay(600, token); // three of the waiting run's looks at its token

        Assert.True(Said());
        Assert.False(entered);
        await first.ReleaseAsync();
        await second;
        Assert.True(entered);
        Assert.Equal("another run in this process is training", Assert.Single(messages).Split(':')[0]);
    }

    [Fact]
    public async Task A_waiting_run_whose_token_fires_stops_waiting()
    {
        var token = TestContext.Current.CancellationToken;
        using var first = new TurnHeldElsewhere(token);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() => SeededRunGate.Enter(null, cancel.Token).Dispose(), token));

        await first.ReleaseAsync();
        Assert.False(SeededRunGate.IsHeld);
    }

    [Fact]
    public void The_holder_takes_the_turn_again_on_its_thread_and_keeps_it_until_its_own_turn_ends()
    {
        var token = TestContext.Current.CancellationToken;
        var messages = new List<string>();
        using (SeededRunGate.Enter(null, token))
        {
            using (SeededRunGate.Enter(messages.Add, token)) Assert.True(SeededRunGate.IsHeld);
            Assert.True(SeededRunGate.IsHeld); // the inner turn gave nothing back
        }
        Assert.False(SeededRunGate.IsHeld);
        Assert.Empty(messages);
    }
}

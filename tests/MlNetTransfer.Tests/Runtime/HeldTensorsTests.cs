using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>
/// The hold (<see cref="HeldTensors"/>): every tensor a thread makes inside it lives until it is disposed or the hold
/// ends, and then belongs where it would have belonged without the hold; chains of temporaries inside it give the same
/// numbers while other threads make the collector run (outside any scope, such a loop crashed the process).
/// </summary>
[Collection(CollectorPressureCollection.Name)]
public class HeldTensorsTests
{
    public HeldTensorsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void What_is_left_alive_goes_to_the_scope_around_and_what_is_disposed_leaves_the_hold()
    {
        using var outer = NewDisposeScope();
        Tensor kept;
        using (var held = HeldTensors.Begin())
        {
            kept = ones(3);
            var dropped = zeros(5);
            Assert.Equal(2, held.Count);
            dropped.Dispose();
            Assert.Equal(1, held.Count);
            Assert.False(outer.Contains(kept)); // held, not yet the outer scope's
        }
        Assert.False(kept.IsInvalid); // the hold disposes nothing
        Assert.True(outer.Contains(kept)); // where it would have gone without the hold
    }

    [Fact]
    public void Without_a_scope_around_what_is_left_alive_belongs_to_no_scope_as_before()
    {
        Tensor made, moved;
        var held = HeldTensors.Begin();
        made = ones(3);
        using (NewDisposeScope())
        {
            moved = HeldScalars.Range(0, 4).MoveToOuterDisposeScope(); // into the hold, where it went to no scope before
        }
        long detached = DisposeScopeManager.Statistics.DetachedFromScopeCount;
        held.Dispose();
        held.Dispose(); // twice is harmless

        Assert.Equal(detached + 2, DisposeScopeManager.Statistics.DetachedFromScopeCount); // both handed to no scope
        Assert.False(made.IsInvalid);
        using (var total = moved.sum()) Assert.Equal(6L, total.item<long>());
        made.Dispose();
        moved.Dispose();
    }

    [Fact]
    public void Chains_of_temporaries_inside_a_hold_give_the_same_numbers_while_other_threads_make_the_collector_run()
    {
        // the hazard: a temporary in a chain (s.mul(w), its sigmoid, ...) is referenced by nothing once its handle is
        // read, so outside any scope a collection another thread starts can free it mid-operation — this loop,
        // written without the hold, crashed the test process (SIGSEGV) within seconds in a Release build
        var s = randn(900, generator: new Generator(4));
        var w = randn(900, generator: new Generator(5));
        float Run(int rounds)
        {
            using var held = HeldTensors.Begin();
            var q = zeros(900);
            for (int i = 0; i < rounds; i++)
            {
                var next = q.add(s.mul(w).sigmoid().mul(s), HeldScalars.One).tanh();
                q.Dispose();
                q = next;
            }
            using var total = q.sum();
            q.Dispose();
            return total.item<float>();
        }
        float expected = Run(5_000);

        using var pressure = new CollectorPressure();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int runs = 0; clock.Elapsed < TimeSpan.FromSeconds(4) || runs < 2; runs++)
            Assert.Equal(expected, Run(5_000));
    }
}

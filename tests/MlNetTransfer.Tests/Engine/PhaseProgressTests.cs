using Microsoft.Extensions.Time.Testing;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Tests;

/// <summary>A long phase before the first epoch (decoding thousands of photos, the classifier's features) says how far
/// it has got: a first line after 10 s, then one every 30 s, with the time left at the rate so far; a phase that
/// ends sooner says nothing.</summary>
public class PhaseProgressTests
{
    [Fact]
    public void A_long_phase_logs_its_count_and_time_left_at_10_s_and_every_30_s_after()
    {
        var lines = new List<string>();
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var progress = new PhaseProgress("training images at 224 px decoded", lines.Add, time) { Total = 1000 };
        for (int i = 0; i < 1000; i++)
        {
            time.SetUtcNow(start + TimeSpan.FromMilliseconds(i * 100)); // 10 images a second: 100 s in all
            progress.Advance();
        }
        Assert.Equal(
        [
            "training images at 224 px decoded: 101 of 1000 (10 %), about 1:29 left",
            "training images at 224 px decoded: 401 of 1000 (40 %), about 0:59 left",
            "training images at 224 px decoded: 701 of 1000 (70 %), about 0:29 left",
        ], lines);
    }

    [Fact]
    public void A_phase_under_10_s_says_nothing_and_an_unknown_total_gives_the_count_alone()
    {
        var lines = new List<string>();
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var quick = new PhaseProgress("features at 224 px", lines.Add, time) { Total = 500 };
        for (int i = 0; i < 500; i++) { time.SetUtcNow(start + TimeSpan.FromMilliseconds(i * 19)); quick.Advance(); }
        Assert.Empty(lines);

        var unknown = new PhaseProgress("training images at 64 px decoded", lines.Add, time);
        time.Advance(TimeSpan.FromSeconds(12));
        unknown.Advance(640);
        Assert.Equal(["training images at 64 px decoded: 640"], lines);
    }

    [Fact]
    public void Workers_advancing_together_count_every_item_and_log_each_line_once()
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var time = new FakeTimeProvider();
        var progress = new PhaseProgress("decoded", lines.Enqueue, time) { Total = 80_000 };
        time.Advance(TimeSpan.FromSeconds(11));
        Parallel.For(0, 80_000, _ => progress.Advance());
        Assert.Single(lines); // due once at 11 s: the next is due at 41 s
        progress.Advance(0);
        Assert.Single(lines);
        Assert.Matches(@"^decoded: \d+ of 80000", lines.Single());
    }
}

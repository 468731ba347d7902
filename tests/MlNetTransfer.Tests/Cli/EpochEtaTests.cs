using MlNetTransfer.Cli.Progress;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Tests;

/// <summary>The time left printed after each epoch counts epochs only: the decoding, the classifier's solve and Auto's
/// measurements before the first epoch are not an epoch's cost (they made the first line say 3:20 where 0:31 was
/// left), a resumed run counts from where it resumed, and an hour or more reads as hours.</summary>
public class EpochEtaTests
{
    static TrainingProgress Batch(int epoch, int epochs, int batch, int batches) => new(epoch, epochs, batch, batches, 1, 0.5, 1e-3, 100);
    static TrainingProgress End(int epoch, int epochs, int batches) => new(epoch, epochs, null, batches, 1, 0.5, 1e-3, 100, 0.9, 0.6);

    /// <summary>Feeds epochs <paramref name="from"/>..<paramref name="to"/> of <paramref name="epochs"/>, each of
    /// <paramref name="batches"/> batches one second apart, the first epoch starting at <paramref name="start"/>
    /// seconds; returns the time left printed after each.</summary>
    static List<TimeSpan?> Run(EpochEta eta, int from, int to, int epochs, int batches, double start)
    {
        var printed = new List<TimeSpan?>();
        double t = start;
        for (int epoch = from; epoch <= to; epoch++)
        {
            for (int b = 1; b <= batches; b++) Assert.Null(eta.Observe(Batch(epoch, epochs, b, batches), t += 1));
            printed.Add(eta.Observe(End(epoch, epochs, batches), t));
        }
        return printed;
    }

    [Fact]
    public void Time_before_the_first_epoch_is_not_counted()
    {
        // 100 s of decoding and solving, then 10 epochs of 5 batches of 1 s
        var printed = Run(new EpochEta(), 1, 10, 10, 5, start: 100);
        Assert.Equal(TimeSpan.FromSeconds(45), printed[0]); // 9 epochs of 5 s, not 105 s × 9
        Assert.Equal(TimeSpan.FromSeconds(25), printed[4]);
        Assert.Equal(TimeSpan.Zero, printed[9]);
    }

    [Fact]
    public void A_resumed_run_counts_from_the_epoch_it_resumed_at()
    {
        var printed = Run(new EpochEta(), 7, 10, 10, 4, start: 30);
        Assert.Equal(TimeSpan.FromSeconds(12), printed[0]);
        Assert.Equal(TimeSpan.FromSeconds(4), printed[2]);
    }

    [Fact]
    public void With_one_batch_an_epoch_the_count_starts_at_the_next_epoch()
    {
        var printed = Run(new EpochEta(), 1, 4, 4, 1, start: 50);
        Assert.Null(printed[0]); // nothing yet says how long an epoch takes
        Assert.Equal(TimeSpan.FromSeconds(2), printed[1]);
        Assert.Equal(TimeSpan.Zero, printed[3]);
    }

    [Fact]
    public void The_classifier_alone_ends_with_nothing_left()
    {
        Assert.Equal(TimeSpan.Zero, new EpochEta().Observe(End(1, 1, 1), 80));
    }

    [Theory]
    [InlineData(31, "0:31")]
    [InlineData(200, "3:20")]
    [InlineData(4500, "1:15:00")]
    [InlineData(90061, "25:01:01")]
    public void The_time_left_reads_as_minutes_or_hours(int seconds, string expected)
    {
        Assert.Equal(expected, PhaseProgress.Clock(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void An_epoch_line_without_a_known_time_left_says_none()
    {
        Assert.DoesNotContain("ETA", TrainingProgressView.Line(End(1, 4, 1), null));
        Assert.EndsWith("ETA 0:45", TrainingProgressView.Line(End(1, 10, 5), TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public void A_solved_classifier_shows_no_learning_rate_and_a_trained_epoch_its_own()
    {
        // the recipe reports the solved classifier as one epoch at rate 0: "lr 0e0" read as a training that did nothing
        var solved = new TrainingProgress(1, 1, null, 1, 0.01, 1.0, 0, 99, 0.012, 1.0);
        Assert.DoesNotContain("lr", TrainingProgressView.Line(solved, null));
        Assert.Contains("val_acc 100.0 %", TrainingProgressView.Line(solved, null));
        Assert.Contains("  lr 1e-3  ", TrainingProgressView.Line(End(1, 10, 5), null));
    }
}

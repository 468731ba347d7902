namespace MlNetTransfer.Engine.Training;

/// <summary>
/// How far a long phase before the first epoch has got — decoding thousands of photos, the classifier's features —
/// as log lines: the first once the phase has run <see cref="FirstAfter"/> (10 s), then one every
/// <see cref="Every"/> (30 s), each with the count, the total when it is known and the time left at the rate so far;
/// nothing for a phase that ends sooner, so a small run's console stays as it was. Thread-safe: the decode's
/// workers advance it together.
/// </summary>
public sealed class PhaseProgress
{
    public static readonly TimeSpan FirstAfter = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    readonly string _what;
    readonly Action<string>? _log;
    readonly TimeProvider _time;
    readonly long _started;
    readonly object _gate = new();
    long _done;
    double _nextAt = FirstAfter.TotalSeconds;

    /// <summary>A phase named <paramref name="what"/> ("training images at 224 px decoded"), starting now on
    /// <paramref name="time"/> (the system's clock when null; a run's own, or a test's).</summary>
    public PhaseProgress(string what, Action<string>? log, TimeProvider? time = null)
    {
        _what = what;
        _log = log;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
    }

    /// <summary>The items in the phase, once known (null: the line gives the count alone).</summary>
    public long? Total { get; set; }

    /// <summary>The items counted so far.</summary>
    public long Done => Interlocked.Read(ref _done);

    /// <summary>Counts <paramref name="count"/> more items done; logs a line when one is due.</summary>
    public void Advance(long count = 1)
    {
        long done = Interlocked.Add(ref _done, count);
        if (_log == null) return;
        double now = _time.GetElapsedTime(_started).TotalSeconds;
        if (now < Volatile.Read(ref _nextAt)) return;
        lock (_gate)
        {
            if (now < _nextAt) return;
            _nextAt = now + Every.TotalSeconds;
        }
        _log(Line(done, now));
    }

    string Line(long done, double now)
    {
        if (Total is not { } total || total <= 0) return $"{_what}: {done}";
        var left = done >= total ? TimeSpan.Zero : TimeSpan.FromSeconds(now / done * (total - done));
        return $"{_what}: {done} of {total} ({100.0 * done / total:0} %), about {Clock(left)} left";
    }

    /// <summary>A time left as a clock reads it: m:ss, or h:mm:ss from an hour on (what the CLI's epoch lines and bars
    /// show too).</summary>
    public static string Clock(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours}:{span:mm\\:ss}" : $"{span.Minutes}:{span:ss}";
}

namespace MlNetTransfer.Serving;

/// <summary>Completed predictions per second over a timed window, with the per-request latency percentiles.</summary>
public sealed record Throughput(int Workers, int Requests, double PerSecond, double P50Ms, double P95Ms)
{
    public static Throughput From(int workers, List<double> latencies, double seconds)
    {
        var sorted = latencies.Order().ToList();
        double At(double p) => sorted.Count == 0 ? double.NaN : sorted[(int)Math.Clamp(Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
        return new Throughput(workers, sorted.Count, sorted.Count / seconds, At(50), At(95));
    }
}

/// <summary>How long the server took to listen, and its first /predict.</summary>
public sealed record FirstRequest(bool WarmUp, double StartMs, double FirstRequestMs);

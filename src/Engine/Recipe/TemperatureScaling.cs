using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// Temperature scaling (Guo et al. 2017): one scalar fitted on held-out images so that Score can be read as a
/// probability. The map works on the probabilities the model serves (p ↦ p^(1/T), renormalised), so it applies the same
/// way with and without the test-time flip and can be undone exactly (<see cref="Undo"/>). The log-loss is convex in
/// 1/T; it is minimised by Newton's method on 1/T (what L-BFGS becomes in one dimension, with exact curvature), in
/// double precision. A temperature the images cannot pin down is fitted but not applied (<see cref="Calibration.Withheld"/>):
/// when every image is predicted right the log-loss falls without end as the scores sharpen (the fit stopped at
/// T = 0.001 and served every score as 100 %), and a handful of images gives a temperature anywhere (2 validation
/// images, one wrong: T = 72, every score near uniform). The test is the fit's own precision — the standard error of
/// log T from the log-loss's curvature, 1 / (β √(n · curvature)) with β = 1/T — which must put T within a factor of 2
/// either way at 95 % (1.96 · SE ≤ ln 2): on simulated scores that is most draws of 20 images, every draw of 40.
/// </summary>
public static class TemperatureScaling
{
    /// <summary>Bins of the expected calibration error: equal-width confidence bins, as Guo et al. report it.</summary>
    public const int EceBins = 15;

    /// <summary>Probabilities under 1e-30 are taken as 1e-30 before their logarithm (float32 softmax can give 0).</summary>
    public const double Floor = 1e-30;

    /// <summary>The widest standard error of log T at which a fitted temperature is applied: 1.96 · SE ≤ ln 2.</summary>
    public static readonly double MaxLogTemperatureError = Math.Log(2) / 1.96;

    /// <summary>Fits the temperature to <paramref name="probabilities"/> ([N, C], as served) of images with
    /// <paramref name="labels"/>; <see cref="Calibration.None"/> without images, a withheld one when the images cannot
    /// pin the temperature down.</summary>
    public static Calibration Fit(Tensor probabilities, Tensor labels)
    {
        if (probabilities.shape[0] == 0) return Calibration.None;
        using var scope = NewDisposeScope();
        var x = probabilities.to(CPU).to_type(ScalarType.Float64).AtLeast(Floor).log();
        var y = labels.to(CPU).to_type(ScalarType.Int64);
        double beta = 1, loss = LogLoss(x, y, beta);
        double before = loss;
        int n = (int)probabilities.shape[0];
        for (int iteration = 0; iteration < 100; iteration++)
        {
            var (gradient, curvature) = Derivatives(x, y, beta);
            if (!(curvature > 1e-12)) break;
            double step = gradient / curvature, next = Math.Clamp(beta - step, 1e-3, 1e3), nextLoss = LogLoss(x, y, next);
            for (int halving = 0; halving < 30 && !(nextLoss <= loss); halving++)
            {
                next = (beta + next) / 2;
                nextLoss = LogLoss(x, y, next);
            }
            if (!(nextLoss <= loss)) break;
            bool converged = Math.Abs(next - beta) < 1e-9 * beta;
            (beta, loss) = (next, nextLoss);
            if (converged) break;
        }
        double eceBefore = Ece(probabilities, labels);
        if (Unsettled(x, y, beta, n) is { } why) return new Calibration(1, n, eceBefore, eceBefore, before, before) { Withheld = why };
        using var calibrated = Apply(probabilities.to(CPU), 1 / beta);
        return new Calibration(1 / beta, n, eceBefore, Ece(calibrated, labels), before, loss);
    }

    /// <summary>Why the temperature 1/<paramref name="beta"/> fitted on <paramref name="n"/> images is not to be
    /// applied, or null when they pin it down (see the class summary).</summary>
    static string? Unsettled(Tensor logProbabilities, Tensor labels, double beta, int n)
    {
        using var scope = NewDisposeScope();
        long wrong = logProbabilities.argmax(1).ne(labels).sum().item<long>();
        if (wrong == 0)
            return $"every one of the {n} validation images is predicted right, so no temperature fits them (the scores would sharpen without end)";
        double curvature = Derivatives(logProbabilities, labels, beta).Curvature;
        double error = 1 / (beta * Math.Sqrt(n * curvature));
        if (error <= MaxLogTemperatureError) return null;
        double factor = Math.Exp(1.96 * error);
        return $"the temperature {1 / beta:0.###} fitted on {n} validation images ({wrong} predicted wrong) is " +
               (factor < 100 ? $"known only within a factor of {factor:0.0} either way (95 %)" : "not pinned down by them") +
               ", too uncertain to apply";
    }

    /// <summary>Calibrated probabilities: <paramref name="probabilities"/>^(1/T), renormalised.</summary>
    public static Tensor Apply(Tensor probabilities, double temperature)
    {
        using var scope = NewDisposeScope();
        var x = probabilities.to_type(ScalarType.Float64).AtLeast(Floor).log();
        return nn.functional.softmax(x.DividedBy(temperature), 1).to_type(probabilities.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The probabilities before calibration, from calibrated ones: the map's inverse (p^T, renormalised).</summary>
    public static float[] Undo(IReadOnlyList<float> calibrated, double temperature)
    {
        var logs = calibrated.Select(p => Math.Log(Math.Max(p, Floor)) * temperature).ToArray();
        double max = logs.Max(), sum = logs.Sum(l => Math.Exp(l - max));
        return logs.Select(l => (float)(Math.Exp(l - max) / sum)).ToArray();
    }

    /// <summary>Expected calibration error: over <see cref="EceBins"/> equal-width bins of the top probability, the
    /// share of images in a bin times |accuracy − mean confidence| there, summed.</summary>
    public static double Ece(Tensor probabilities, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var p = probabilities.to(CPU).to_type(ScalarType.Float64);
        var (confidence, predicted) = p.max(1);
        var right = predicted.eq(labels.to(CPU).to_type(ScalarType.Int64)).data<bool>().ToArray();
        return Ece((IReadOnlyList<double>)confidence.data<double>().ToArray(), right);
    }

    /// <inheritdoc cref="Ece(Tensor, Tensor)"/>
    public static double Ece(IReadOnlyList<double> confidence, IReadOnlyList<bool> right)
    {
        if (confidence.Count == 0) return double.NaN;
        var bins = ReliabilityBins(confidence, right);
        return bins.Sum(b => (double)b.Images / confidence.Count * Math.Abs(b.Accuracy - b.Confidence));
    }

    /// <summary>The reliability diagram's bins: images, accuracy and mean confidence in each non-empty bin, low to high.</summary>
    public static IReadOnlyList<(double Low, double High, int Images, double Accuracy, double Confidence)> ReliabilityBins(
        IReadOnlyList<double> confidence, IReadOnlyList<bool> right)
    {
        var count = new int[EceBins];
        var correct = new int[EceBins];
        var sum = new double[EceBins];
        for (int i = 0; i < confidence.Count; i++)
        {
            int bin = Math.Clamp((int)Math.Ceiling(confidence[i] * EceBins) - 1, 0, EceBins - 1);
            count[bin]++;
            sum[bin] += confidence[i];
            if (right[i]) correct[bin]++;
        }
        return Enumerable.Range(0, EceBins).Where(b => count[b] > 0)
            .Select(b => ((double)b / EceBins, (double)(b + 1) / EceBins, count[b], (double)correct[b] / count[b], sum[b] / count[b]))
            .ToList();
    }

    /// <summary>The mean log-loss's first and second derivatives in β = 1/T at <paramref name="beta"/>.</summary>
    static (double Gradient, double Curvature) Derivatives(Tensor logProbabilities, Tensor labels, double beta)
    {
        using var scope = NewDisposeScope();
        var p = nn.functional.softmax(logProbabilities.Times(beta), 1);
        var mean = (p * logProbabilities).sum(1);
        double gradient = (mean - logProbabilities.gather(1, labels.unsqueeze(1)).squeeze(1)).mean().item<double>();
        double curvature = ((p * logProbabilities * logProbabilities).sum(1) - mean * mean).mean().item<double>();
        return (gradient, curvature);
    }

    static double LogLoss(Tensor logProbabilities, Tensor labels, double beta)
    {
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(logProbabilities.Times(beta), labels).item<double>();
    }
}

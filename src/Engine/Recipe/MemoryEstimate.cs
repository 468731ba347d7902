using MlNetTransfer.Engine.Architectures;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// The memory a run will need, estimated before it starts from what drives it: the batches of decoded images in
/// memory at once (the one training, the ones prepared ahead, as floats; the decoded images themselves go to a file,
/// <see cref="DiskBytes"/>, so memory stays flat in the number of images), the activations of a training batch (every
/// layer's output is kept for the backward pass: measured once on a forward pass at a small side and scaled by area),
/// the largest layer output of a frozen-feature batch, and the parameters with their gradients, optimizer moments and
/// best-epoch snapshot. An order-of-magnitude guard, not a bound: it is there to refuse a run that cannot fit before
/// it decodes anything, not to plan one to the megabyte.
/// </summary>
public sealed record MemoryEstimate(long ImageBytes, long ActivationBytes, long ParameterBytes, int Side, int BatchSize, long DiskBytes)
{
    /// <summary>Image batches in memory at once: the one training, those prepared ahead
    /// (<see cref="Training.TrainingContext.PrefetchBatches"/>), and the one being prepared.</summary>
    public const int BatchesInMemory = Training.TrainingContext.DefaultPrefetchBatches + 2;

    public long TotalBytes => ImageBytes + ActivationBytes + ParameterBytes;

    /// <summary>Copies of the parameters a training run holds: the weights, their gradients, two optimizer moments
    /// and the best epoch's snapshot.</summary>
    const int ParameterCopies = 5;

    /// <summary>The network's weights as float32: what its ONNX model, and so the saved model, mostly is.</summary>
    public long WeightBytes => ParameterBytes / ParameterCopies;

    /// <summary>What <paramref name="images"/> images at <paramref name="side"/> px take with batches of
    /// <paramref name="batchSize"/>; <paramref name="backboneTrains"/> false: only frozen features are computed.</summary>
    public static MemoryEstimate For(Architecture architecture, int side, int batchSize, long images, bool backboneTrains)
    {
        var (sum, largest, parameters) = Measure(architecture);
        int probe = ProbeSide(architecture);
        double scale = (double)side * side / ((double)probe * probe);
        long activations = backboneTrains
            ? (long)(batchSize * sum * sizeof(float) * scale * 2) // kept outputs, and their gradients as backward runs
            : (long)(batchSize * largest * sizeof(float) * scale * 2); // no_grad: a layer's input and output at a time
        long batchBytes = batchSize * 3L * side * side * (sizeof(byte) + sizeof(float)); // gathered bytes, then floats
        return new MemoryEstimate(batchBytes * BatchesInMemory, activations, parameters * sizeof(float) * ParameterCopies, side, batchSize,
            images * 3L * side * side * (backboneTrains ? 2 : 1)); // the classifier's side, and the training side
    }

    public string Describe() =>
        $"about {Gb(TotalBytes)} (image batches {Gb(ImageBytes)}, a batch of {BatchSize} at {Side} px {Gb(ActivationBytes)}, parameters and optimizer {Gb(ParameterBytes)})";

    static string Gb(long bytes) => $"{bytes / 1e9:0.0} GB";

    static int ProbeSide(Architecture architecture) => Math.Max(64, architecture.MinimumInputSize);

    static readonly Dictionary<string, (double Sum, double Largest, long Parameters)> Measured = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Element counts of every leaf module's output on one image at the probe side (their sum and the
    /// largest), and the parameter count; measured once per architecture with forward hooks.</summary>
    static (double Sum, double Largest, long Parameters) Measure(Architecture architecture)
    {
        lock (Measured)
        {
            if (Measured.TryGetValue(architecture.Name, out var known)) return known;
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var model = architecture.Create(2);
            double sum = 0, largest = 0;
            var hooks = model.modules()
                .Where(m => !m.children().Any())
                .OfType<nn.Module<Tensor, Tensor>>()
                .Select(m => m.register_forward_hook((_, _, output) =>
                {
                    sum += output.numel();
                    largest = Math.Max(largest, output.numel());
                    return null!; // null: keep the output as it is
                }))
                .ToList();
            int probe = ProbeSide(architecture);
            model.eval();
            model.call(zeros(1, 3, probe, probe));
            hooks.ForEach(h => h.remove());
            long parameters = model.parameters().Sum(p => p.numel());
            model.Dispose();
            return Measured[architecture.Name] = (sum, largest, parameters);
        }
    }
}

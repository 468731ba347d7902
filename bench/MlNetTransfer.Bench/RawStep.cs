using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Bench;

/// <summary>The machine's limit for a case: training steps on tensors already in memory (no decoding, no batching,
/// no normalisation), the engine's trainable parameters and layout, stepped by TorchSharp's own AdamW (the engine's
/// flat-buffer step does the same arithmetic in fewer kernels, so the limit holds).</summary>
public static class RawStep
{
    /// <summary>Where a step's time goes, in milliseconds per step: what the host spends issuing the forward pass
    /// (with zero_grad and the loss), the backward pass and the optimizer step; what is left for the device to finish
    /// after that (a synchronize per step); the step so measured; and the step when steps overlap (one synchronize at
    /// the end, as training runs). A host-bound step has an overlapped time close to its host time and a short drain:
    /// the GPU waits for TorchSharp to issue kernels.</summary>
    public sealed record StepProfile(double ForwardHostMs, double BackwardHostMs, double OptimizerHostMs, double DrainMs, double SyncedStepMs, double OverlappedStepMs)
    {
        public double HostMs => ForwardHostMs + BackwardHostMs + OptimizerHostMs;
    }

    public static double ImagesPerSecond(BenchCase c, int steps, Device device, int classes = 10) =>
        Measure(c, steps, device, classes, profile: false).ImagesPerSecond;

    public static StepProfile Profile(BenchCase c, int steps, Device device, int classes = 10) =>
        Measure(c, steps, device, classes, profile: true).Profile!;

    static (double ImagesPerSecond, StepProfile? Profile) Measure(BenchCase c, int steps, Device device, int classes, bool profile)
    {
        using var allocator = AllocatorTuning.Begin(); // as FineTuner.Fit does
        var architecture = ArchitectureRegistry.Get(c.Architecture);
        random.manual_seed(1);
        using var model = architecture.Create(classes);
        model.to(device);
        bool channelsLast = ChannelsLast.Applies(null, device); // as FineTuner does
        if (channelsLast) ChannelsLast.Apply(model);
        var plan = StrategyPlan.For(architecture, c.Strategy);
        var groups = plan.Apply(model);
        using var optimizer = optim.AdamW(groups.SelectMany(g => g.Parameters), lr: 1e-4);
        using var input = randn(c.BatchSize, 3, c.Resolution, c.Resolution, device: device);
        using var x = channelsLast ? ChannelsLast.Of(input) : input.alias();
        using var y = randint(0, classes, [c.BatchSize], device: device);
        model.train();
        plan.FreezeBatchNormStatistics(model);

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            optimizer.step();
        }

        void Synchronize()
        {
            if (device.type == DeviceType.CUDA) cuda.synchronize(device);
        }

        for (int i = 0; i < 2; i++) Step(); // warm-up: allocator, kernels (cuDNN picks its algorithms here)
        Synchronize();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        Synchronize();
        double overlappedMs = clock.Elapsed.TotalMilliseconds / steps;
        if (!profile) return (steps * c.BatchSize / clock.Elapsed.TotalSeconds, null);

        double forward = 0, backward = 0, step = 0, drain = 0;
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            long t0 = Stopwatch.GetTimestamp();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            long t1 = Stopwatch.GetTimestamp();
            loss.backward();
            long t2 = Stopwatch.GetTimestamp();
            optimizer.step();
            long t3 = Stopwatch.GetTimestamp();
            Synchronize();
            long t4 = Stopwatch.GetTimestamp();
            forward += Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
            backward += Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
            step += Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
            drain += Stopwatch.GetElapsedTime(t3, t4).TotalMilliseconds;
        }
        var result = new StepProfile(forward / steps, backward / steps, step / steps, drain / steps, (forward + backward + step + drain) / steps, overlappedMs);
        return (steps * c.BatchSize / clock.Elapsed.TotalSeconds, result);
    }
}

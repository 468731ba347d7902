using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Bench;

/// <summary>The machine's limit for a case: training steps on tensors already in memory (no decoding, no batching,
/// no normalisation), the same optimizer and trainable parameters as the engine uses.</summary>
public static class RawStep
{
    public static double ImagesPerSecond(BenchCase c, int steps, Device device, int classes = 10)
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
        return steps * c.BatchSize / clock.Elapsed.TotalSeconds;
    }
}

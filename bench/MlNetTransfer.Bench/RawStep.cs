using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Bench;

/// <summary>The machine's limit for a case: training steps on tensors already in memory (no decoding, no batching,
/// no normalisation), the same optimizer and trainable parameters as the engine uses.</summary>
public static class RawStep
{
    public static double ImagesPerSecond(BenchCase c, int steps, int classes = 10)
    {
        var architecture = ArchitectureRegistry.Get(c.Architecture);
        random.manual_seed(1);
        using var model = architecture.Create(classes);
        var plan = StrategyPlan.For(architecture, c.Strategy);
        var groups = plan.Apply(model);
        using var optimizer = optim.AdamW(groups.SelectMany(g => g.Parameters), lr: 1e-4);
        using var x = randn(c.BatchSize, 3, c.Resolution, c.Resolution);
        using var y = randint(0, classes, [c.BatchSize]);
        model.train();
        plan.FreezeBatchNormStatistics(model);

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            optimizer.step();
        }

        for (int i = 0; i < 2; i++) Step(); // warm-up: allocator, kernels
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        return steps * c.BatchSize / clock.Elapsed.TotalSeconds;
    }
}

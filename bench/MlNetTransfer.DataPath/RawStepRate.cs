using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.DataPath;

/// <summary>The machine's limit for the same training: steps on one batch already in memory (no reading, no
/// augmentation, no normalisation), the engine's optimizer, layout and trainable parameters.</summary>
public static class RawStepRate
{
    public static double ImagesPerSecond(string architectureName, int side, int batchSize, int steps, int classes = 10)
    {
        using var allocator = AllocatorTuning.Begin();
        var architecture = ArchitectureRegistry.Get(architectureName);
        random.manual_seed(1);
        using var model = architecture.Create(classes);
        bool channelsLast = ChannelsLast.Applies(null, CPU);
        if (channelsLast) ChannelsLast.Apply(model);
        var groups = StrategyPlan.For(architecture, FineTuneStrategy.RetrainAll).Apply(model);
        using var optimizer = optim.AdamW(groups.SelectMany(g => g.Parameters), lr: 1e-4);
        using var input = randn(batchSize, 3, side, side);
        using var x = channelsLast ? ChannelsLast.Of(input) : input.alias();
        using var y = randint(0, classes, [batchSize]);
        model.train();
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(model.call(x), y, label_smoothing: 0.1).backward();
            optimizer.step();
        }
        for (int i = 0; i < 2; i++) Step();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        return steps * batchSize / clock.Elapsed.TotalSeconds;
    }
}

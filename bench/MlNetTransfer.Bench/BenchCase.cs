using MlNetTransfer.Engine.Strategies;

namespace MlNetTransfer.Bench;

/// <summary>One training configuration measured both ways: raw TorchSharp steps and TransferTrain end to end.</summary>
public sealed record BenchCase(string Name, string Architecture, FineTuneStrategy Strategy, int Resolution, int BatchSize)
{
    /// <summary>The three cases: the recipe (alexnet, head only), resnet18 whole network, mobilenet_v2.</summary>
    public static IReadOnlyList<BenchCase> Standard(int resolution, int batch) =>
    [
        new("alexnet head-only (the recipe)", "alexnet", FineTuneStrategy.HeadOnly, resolution, batch),
        new("resnet18 whole network", "resnet18", FineTuneStrategy.RetrainAll, resolution, batch),
        new("mobilenet_v2 whole network", "mobilenet_v2", FineTuneStrategy.RetrainAll, resolution, batch),
    ];
}

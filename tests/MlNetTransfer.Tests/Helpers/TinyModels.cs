using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>What the training loop's tests train: the tiny network on 16 px images scaled to 0..1, built from a
/// seed, the loop's options for it, and a copy of a model's weights that outlives it.</summary>
static class TinyModels
{
    public static readonly Architecture Tiny = ArchitectureRegistry.Get("tiny");
    public static readonly Preprocessing Plain = Preprocessing.Unit(16);

    /// <summary>A three-class tiny network with the weights <paramref name="seed"/> draws.</summary>
    public static nn.Module<Tensor, Tensor> NewModel(int seed = 5)
    {
        random.manual_seed(seed);
        return Tiny.Create(3);
    }

    /// <summary>The loop's options for the tiny network; <paramref name="change"/> adjusts them.</summary>
    public static FineTuneOptions Options(Action<FineTuneOptions>? change = null)
    {
        // the tiny network starts from random weights: its BatchNorm statistics train, as from scratch
        var options = new FineTuneOptions { Epochs = 6, BatchSize = 16, LearningRate = 0.02, Seed = 3, EarlyStoppingPatience = 0, TrainBatchNormStatistics = true };
        change?.Invoke(options);
        return options;
    }

    public static Dictionary<string, Tensor> Weights(nn.Module<Tensor, Tensor> model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
}

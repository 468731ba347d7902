namespace MlNetTransfer.Engine.Training;

/// <summary>What the training loop asks of an optimizer: per-group rates, zeroing the gradients, one step, and its
/// state for a checkpoint. <see cref="TorchOptimizerStep"/> is TorchSharp's AdamW/SGD (a few kernels per parameter
/// tensor); <see cref="FlatOptimizer"/> the same update on one flat buffer per group (a few kernels per group).</summary>
internal interface IOptimizerStep : IDisposable
{
    /// <summary>Parameter groups, in the order they were given.</summary>
    int Groups { get; }

    void SetRate(int group, double rate);

    void ZeroGrad();

    void Step();

    /// <summary>The state a resumed run needs (moments or momentum, step counts).</summary>
    void Save(BinaryWriter writer);

    void Load(BinaryReader reader);
}

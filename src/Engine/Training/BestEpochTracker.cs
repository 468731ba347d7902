using MlNetTransfer.Engine.Strategies;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>The best epoch so far and its weights: validation accuracy decides (ties: lower loss; without validation
/// the training loss), early stopping counts the epochs since it, and the run ends on its weights. A checkpoint saves it
/// (<see cref="SaveTo"/>) and a resumed run takes it back (<see cref="Resumed"/>). Only the trainable groups' tensors
/// are kept: frozen groups never change (a head-only VGG16 snapshot is 16 MB, not 550).</summary>
internal sealed class BestEpochTracker : IDisposable
{
    readonly nn.Module<Tensor, Tensor> _model;
    readonly StrategyPlan _plan;
    Dictionary<string, Tensor>? _weights;

    BestEpochTracker(nn.Module<Tensor, Tensor> model, StrategyPlan plan) => (_model, _plan) = (model, plan);

    /// <summary>The best epoch (0: none yet, the starting weights are kept), its accuracy and loss, and the epochs
    /// since it that counted.</summary>
    public int Epoch { get; private set; }
    public double Accuracy { get; private set; } = double.NegativeInfinity;
    public double Loss { get; private set; } = double.PositiveInfinity;
    public int SinceBest { get; private set; }

    /// <summary>A new run's tracker, holding the starting weights.</summary>
    public static BestEpochTracker Start(nn.Module<Tensor, Tensor> model, StrategyPlan plan)
    {
        var tracker = new BestEpochTracker(model, plan);
        tracker.Snapshot();
        return tracker;
    }

    /// <summary>The tracker an interrupted run saved in <paramref name="checkpoint"/>.</summary>
    public static BestEpochTracker Resumed(nn.Module<Tensor, Tensor> model, StrategyPlan plan, TrainingCheckpoint checkpoint) =>
        new(model, plan)
        {
            Epoch = checkpoint.BestEpoch, Accuracy = checkpoint.BestAccuracy, Loss = checkpoint.BestLoss, SinceBest = checkpoint.SinceBest,
            _weights = checkpoint.BestWeights.ToDictionary(kv => kv.Key, kv => kv.Value.clone()),
        };

    /// <summary>Takes <paramref name="epoch"/> (and the model's weights now) when it beats the best so far.</summary>
    public bool Offer(int epoch, double accuracy, double loss)
    {
        if (!(accuracy > Accuracy || (accuracy == Accuracy && loss < Loss))) return false;
        (Accuracy, Loss, Epoch, SinceBest) = (accuracy, loss, epoch, 0);
        Snapshot();
        return true;
    }

    /// <summary>Counts an epoch that did not beat the best; true once <paramref name="patience"/> such epochs have passed
    /// (0: never, and nothing is counted).</summary>
    public bool OutOfPatience(int patience) => patience > 0 && ++SinceBest >= patience;

    /// <summary>The checkpoint with this tracker in it (its weights copied: the checkpoint owns them).</summary>
    public TrainingCheckpoint SaveTo(TrainingCheckpoint checkpoint) => checkpoint with
    {
        BestEpoch = Epoch, BestAccuracy = Accuracy, BestLoss = Loss, SinceBest = SinceBest,
        BestWeights = _weights!.ToDictionary(kv => kv.Key, kv => kv.Value.clone()),
    };

    /// <summary>Puts the best weights back into the model, in place (keeping the layout and the optimizer's parameters).</summary>
    public void Restore()
    {
        if (_weights == null) return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in _model.state_dict())
            if (_weights.TryGetValue(name, out var saved)) tensor.copy_(saved);
    }

    void Snapshot()
    {
        Free();
        // state_dict() and detach() hand out new handles on every call: dispose them, keep the clones
        using var scope = NewDisposeScope();
        _weights = _model.state_dict()
            .Where(kv => _plan.Trainable[_plan.Architecture.GroupIndexOf(kv.Key)])
            .ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous().clone().MoveToOuterDisposeScope());
    }

    void Free()
    {
        if (_weights == null) return;
        foreach (var t in _weights.Values) t.Dispose();
        _weights = null;
    }

    public void Dispose() => Free();
}

using TorchSharp.Modules;
using static TorchSharp.torch.optim;

namespace MlNetTransfer.Engine.Training;

/// <summary>TorchSharp's own AdamW or SGD, its state kept in the parameters' layout (channels-last while training,
/// standard when saved: TorchSharp writes and reads contiguous tensors only).</summary>
internal sealed class TorchOptimizerStep(OptimizerHelper optimizer, bool channelsLast) : IOptimizerStep
{
    readonly List<ILearningRateController> _groups = optimizer.ParamGroups.ToList();

    public int Groups => _groups.Count;

    public void SetRate(int group, double rate) => _groups[group].LearningRate = rate;

    public void ZeroGrad() => optimizer.zero_grad();

    public void Step() => optimizer.step();

    public void Save(BinaryWriter writer)
    {
        if (channelsLast) ChannelsLast.RevertState(optimizer); // saved when a run is cancelled: the optimizer ends with it
        optimizer.save_state_dict(writer);
    }

    public void Load(BinaryReader reader)
    {
        if (channelsLast) ChannelsLast.RevertState(optimizer);
        optimizer.load_state_dict(reader);
        if (channelsLast) ChannelsLast.ApplyToState(optimizer);
    }

    public void Dispose() => optimizer.Dispose();
}

using MlNetTransfer.Engine.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Strategies;

/// <summary>A strategy applied to an architecture: for each layer group, whether it trains and its learning-rate
/// scale relative to the base rate.</summary>
public sealed class StrategyPlan
{
    /// <summary>Discriminative rates span two decades, first group to head (fastai's slice(lr/100, lr)).</summary>
    public const double WholeNetworkRateSpan = 100;

    StrategyPlan(Architecture architecture, FineTuneStrategy strategy, bool[] trainable, double[] rateScales)
    {
        Architecture = architecture;
        Strategy = strategy;
        Trainable = trainable;
        RateScales = rateScales;
    }

    public Architecture Architecture { get; }
    public FineTuneStrategy Strategy { get; }

    /// <summary>Per layer group, in <see cref="Architecture.LayerGroups"/> order.</summary>
    public IReadOnlyList<bool> Trainable { get; }

    /// <summary>Per layer group: the multiplier on the base learning rate (0 where frozen).</summary>
    public IReadOnlyList<double> RateScales { get; }

    /// <summary>Whether every backbone group is frozen, so backbone outputs can be computed once and cached.</summary>
    public bool BackboneFrozen => Trainable.Take(Trainable.Count - 1).All(t => !t);

    public static StrategyPlan For(Architecture architecture, FineTuneStrategy strategy)
    {
        int groups = architecture.LayerGroups.Count, head = groups - 1;
        var trainable = new bool[groups];
        var scales = new double[groups];
        trainable[head] = true;
        switch (strategy)
        {
            case FineTuneStrategy.HeadOnly:
                break;
            case FineTuneStrategy.InitialLayers:
                trainable[0] = true;
                break;
            case FineTuneStrategy.LastLayers:
                trainable[head - 1] = true;
                break;
            case FineTuneStrategy.WholeNetwork:
            case FineTuneStrategy.RetrainAll:
                Array.Fill(trainable, true);
                break;
            case FineTuneStrategy.Auto:
                throw new ArgumentException("Auto depends on the data: resolve it with AutoStrategy.Choose, then plan the strategy it returns.", nameof(strategy));
            default:
                throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "unknown fine-tuning strategy");
        }
        for (int g = 0; g < groups; g++)
        {
            if (!trainable[g]) continue;
            scales[g] = strategy == FineTuneStrategy.WholeNetwork
                ? Math.Pow(WholeNetworkRateSpan, -(double)(head - g) / head)
                : 1.0;
        }
        return new StrategyPlan(architecture, strategy, trainable, scales);
    }

    /// <summary>Sets <c>requires_grad</c> on every parameter of <paramref name="model"/> and returns the trainable
    /// ones grouped with their learning-rate scale, for the optimizer.</summary>
    public IReadOnlyList<(IReadOnlyList<Parameter> Parameters, double RateScale)> Apply(nn.Module<Tensor, Tensor> model)
    {
        var byGroup = new List<Parameter>[Trainable.Count];
        for (int g = 0; g < byGroup.Length; g++) byGroup[g] = [];
        foreach (var (name, parameter) in model.named_parameters())
        {
            int group = Architecture.GroupIndexOf(name);
            parameter.requires_grad = Trainable[group];
            if (Trainable[group]) byGroup[group].Add(parameter);
        }
        return Enumerable.Range(0, byGroup.Length)
            .Where(g => Trainable[g] && byGroup[g].Count > 0)
            .Select(g => ((IReadOnlyList<Parameter>)byGroup[g], RateScales[g]))
            .ToList();
    }

    /// <summary>Puts the BatchNorm layers of frozen groups in eval mode, so their running statistics stay those of
    /// the checkpoint (call after <c>model.train()</c>). A frozen group then computes exactly what it did before
    /// training, which is also what makes caching its output valid.</summary>
    public void FreezeBatchNormStatistics(nn.Module<Tensor, Tensor> model, bool all = false)
    {
        foreach (var (_, module) in FrozenBatchNorms(model, all)) module.eval();
    }

    /// <summary>The BatchNorm layers whose running statistics stay the checkpoint's: those of frozen groups, or every
    /// one when <paramref name="all"/>.</summary>
    public IEnumerable<(string Name, nn.Module Module)> FrozenBatchNorms(nn.Module<Tensor, Tensor> model, bool all = false) =>
        model.named_modules()
            .Where(m => m.module is BatchNorm1d or BatchNorm2d or BatchNorm3d)
            .Where(m => all || !Trainable[Architecture.GroupIndexOf(m.name + ".weight")]);

    public string Describe() =>
        string.Join(", ", Architecture.LayerGroups.Select((g, i) =>
            Trainable[i] ? $"{g.Name} ×{RateScales[i]:0.###}" : $"{g.Name} frozen"));
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>Where fine-tuning starts: an architecture with its pretrained (or no) weights and the preprocessing they
/// carry, or any other source of weights for an architecture (a saved model being continued).</summary>
public sealed class StartingPoint
{
    readonly Action<nn.Module<Tensor, Tensor>, int>? _load;

    public StartingPoint(Architecture architecture, Preprocessing preprocessing, string description, bool pretrained,
        Action<nn.Module<Tensor, Tensor>, int>? load, bool trainedClassifier = false)
    {
        TrainedClassifier = trainedClassifier;
        Architecture = architecture;
        Preprocessing = preprocessing;
        Description = description;
        Pretrained = pretrained;
        _load = load;
    }

    public Architecture Architecture { get; }

    /// <summary>The preprocessing the starting weights expect, at their own input side.</summary>
    public Preprocessing Preprocessing { get; }

    public string Description { get; }

    /// <summary>Whether the starting weights were trained (false: random initialisation).</summary>
    public bool Pretrained { get; }

    /// <summary>Whether the starting weights include a classifier already trained for these classes (a saved model
    /// continued): deeper strategies then go on from it instead of a newly solved one.</summary>
    public bool TrainedClassifier { get; }

    /// <summary>The architecture and weights that <paramref name="options"/> name.</summary>
    public static StartingPoint For(FineTuneOptions options)
    {
        var architecture = ArchitectureRegistry.Get(options.Architecture);
        var weights = PretrainedCatalog.Resolve(architecture, options.Weights);
        return weights == null
            ? new StartingPoint(architecture, Preprocessing.ImageNet(architecture.DefaultInputSize), "none (trained from scratch, as asked)", false, null)
            : new StartingPoint(architecture, weights.Preprocessing, weights.Name, true, (model, _) => weights.LoadInto(model, architecture));
    }

    /// <summary>A network with the starting weights and a classifier for <paramref name="classCount"/> classes, of
    /// <see cref="Architecture"/> or of a <paramref name="variant"/> with the same layers by name (its
    /// <see cref="Architecture.ClassifierAlone"/>). The new classifier draws from torch's generator: seed it first for a
    /// reproducible run.</summary>
    public nn.Module<Tensor, Tensor> CreateModel(int classCount, Architecture? variant = null)
    {
        var model = (variant ?? Architecture).Create(classCount);
        try
        {
            _load?.Invoke(model, classCount);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>Where fine-tuning starts: an architecture with its pretrained (or no) weights, or a model zip saved
/// from an earlier TransferTrain, whose ONNX network doubles as a weights file.</summary>
internal sealed class StartingPoint
{
    readonly PretrainedWeights? _weights;
    readonly Action<nn.Module<Tensor, Tensor>>? _loadContinued;

    StartingPoint(Architecture architecture, Preprocessing preprocessing, string description, PretrainedWeights? weights,
        Action<nn.Module<Tensor, Tensor>>? loadContinued)
    {
        Architecture = architecture;
        Preprocessing = preprocessing;
        Description = description;
        _weights = weights;
        _loadContinued = loadContinued;
    }

    public Architecture Architecture { get; }
    public Preprocessing Preprocessing { get; }
    public string Description { get; }

    public static StartingPoint Resolve(TransferTrainOptions options, IReadOnlyList<string> classes)
    {
        if (options.ContinueFromModelPath is { } zip) return Continue(zip, classes);
        var architecture = ArchitectureRegistry.Get(options.Architecture);
        var weights = PretrainedCatalog.Resolve(architecture, options.Weights);
        return weights == null
            ? new StartingPoint(architecture, Preprocessing.ImageNet(architecture.DefaultInputSize), "none (trained from scratch, as asked)", null, null)
            : new StartingPoint(architecture, weights.Preprocessing, weights.Name, weights, null);
    }

    /// <summary>A network with the starting weights and a classifier for <paramref name="classCount"/> classes.</summary>
    public nn.Module<Tensor, Tensor> CreateModel(int classCount)
    {
        var model = Architecture.Create(classCount);
        _weights?.LoadInto(model, Architecture);
        _loadContinued?.Invoke(model);
        return model;
    }

    static StartingPoint Continue(string zipPath, IReadOnlyList<string> classes)
    {
        var onnx = TransferModelFile.ReadOnnx(zipPath);
        var graph = OnnxGraph.Parse(onnx);
        var metadata = OnnxMetadata.Read(graph, zipPath);
        var architecture = ArchitectureRegistry.Get(metadata.Architecture);
        bool sameClasses = metadata.ClassNames.SequenceEqual(classes);
        string description = $"continued from {zipPath}" + (sameClasses ? "" : " (classes differ: new classifier)");
        return new StartingPoint(architecture, metadata.Preprocessing, description, null, model =>
        {
            var state = graph.Initializers.Values
                .Where(t => !t.Name.StartsWith(OnnxModelBuilder.ConstantPrefix, StringComparison.Ordinal))
                .Where(t => sameClasses || !architecture.IsClassifierKey(t.Name))
                .ToDictionary(t => t.Name, t => tensor(t.Floats).view(t.Dims));
            try
            {
                WeightLoader.Load(model, architecture, state, zipPath);
            }
            finally
            {
                foreach (var t in state.Values) t.Dispose();
            }
        });
    }
}

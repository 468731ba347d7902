using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>The trained network an ONNX model this product wrote holds, rebuilt in TorchSharp: the architecture and
/// class count its metadata names, every weight by state_dict name, in eval mode on the CPU.</summary>
public sealed class OnnxNetwork : IDisposable
{
    OnnxNetwork(nn.Module<Tensor, Tensor> model, Architecture architecture, OnnxMetadata metadata) =>
        (Model, Architecture, Metadata) = (model, architecture, metadata);

    public nn.Module<Tensor, Tensor> Model { get; }

    public Architecture Architecture { get; }

    /// <summary>What the model says of itself: class names, the preprocessing at the side it was trained at, the flip
    /// and the temperature.</summary>
    public OnnxMetadata Metadata { get; }

    /// <param name="graph">The parsed model.</param>
    /// <param name="source">Where it came from, for errors.</param>
    public static OnnxNetwork Rebuild(OnnxGraph graph, string source)
    {
        var metadata = OnnxMetadata.Read(graph, source);
        var architecture = ArchitectureRegistry.Get(metadata.Architecture);
        var model = architecture.Create(metadata.ClassNames.Count);
        var state = StateDictFile.FromOnnx(graph);
        try
        {
            WeightLoader.Load(model, architecture, state, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var weight in state.Values) weight.Dispose();
        }
        model.eval();
        return new OnnxNetwork(model, architecture, metadata);
    }

    public void Dispose() => Model.Dispose();
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>A model zip saved by TransferTrain as a starting point: its ONNX network carries the architecture, the
/// preprocessing, the class names and every weight by state_dict name.</summary>
internal static class ContinuedModel
{
    public static StartingPoint From(string zipPath, IReadOnlyList<string> classes)
    {
        var onnx = TransferModelFile.ReadOnnx(zipPath);
        var graph = OnnxGraph.Parse(onnx);
        var metadata = OnnxMetadata.Read(graph, zipPath);
        var architecture = ArchitectureRegistry.Get(metadata.Architecture);
        bool sameClasses = metadata.ClassNames.SequenceEqual(classes);
        string description = $"continued from {zipPath}" + (sameClasses ? "" : " (classes differ: new classifier)");
        return new StartingPoint(architecture, metadata.Preprocessing, description, pretrained: true, (model, _) =>
        {
            var state = StateDictFile.FromOnnx(graph);
            foreach (var key in state.Keys.Where(k => !sameClasses && architecture.IsClassifierKey(k)).ToList())
            {
                state[key].Dispose();
                state.Remove(key);
            }
            try
            {
                WeightLoader.Load(model, architecture, state, zipPath);
            }
            finally
            {
                foreach (var t in state.Values) t.Dispose();
            }
        }, trainedClassifier: sameClasses);
    }
}

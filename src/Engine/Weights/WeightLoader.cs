using MlNetTransfer.Engine.Architectures;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Copies a state dict into a network of a registry architecture, by PyTorch key name. The classifier is
/// skipped when its shape differs (weights trained for another class count); any other difference is an error
/// that names the key and both shapes.</summary>
public static class WeightLoader
{
    /// <summary>Reads <paramref name="path"/> (see <see cref="StateDictFile"/>) and loads it into <paramref name="model"/>.</summary>
    public static WeightLoadReport LoadFile(nn.Module<Tensor, Tensor> model, Architecture architecture, string path)
    {
        var state = StateDictFile.Read(path);
        try
        {
            return Load(model, architecture, state, path);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    public static WeightLoadReport Load(nn.Module<Tensor, Tensor> model, Architecture architecture,
        IReadOnlyDictionary<string, Tensor> state, string source)
    {
        using var scope = NewDisposeScope(); // state_dict() and to() hand out handles; the caller's tensors are not in this scope
        var target = model.state_dict();
        // Weights without any classifier (feature extractors such as the embedded ResNet18) leave the head as initialised.
        bool noClassifier = !state.Keys.Any(architecture.IsClassifierKey);
        var missing = target.Keys.Where(k => !state.ContainsKey(k) && !IsOptional(k) && !(noClassifier && architecture.IsClassifierKey(k))).ToList();
        var unexpected = state.Keys.Where(k => !target.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new WeightMismatchException(
                $"{source} does not hold {architecture.Name} weights: " +
                (missing.Count > 0 ? $"{missing.Count} keys missing (first: {string.Join(", ", missing.Take(3))})" : "") +
                (missing.Count > 0 && unexpected.Count > 0 ? "; " : "") +
                (unexpected.Count > 0 ? $"{unexpected.Count} keys not in {architecture.Name} (first: {string.Join(", ", unexpected.Take(3))})" : "") +
                ". Check the architecture, or that the file is a state_dict of it" +
                (source.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                    ? " (an ONNX file must keep the state_dict names and BatchNorm layers: torch.onnx.export(..., training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False))."
                    : "."));

        bool headSkipped = noClassifier;
        string? headNote = noClassifier ? $"{source} carries no classifier; {architecture.ClassifierPrefix} starts freshly initialised" : null;
        foreach (var (key, destination) in target)
        {
            if (!state.TryGetValue(key, out var stored)) continue;
            if (stored.shape.SequenceEqual(destination.shape)) continue;
            if (architecture.IsClassifierKey(key))
            {
                headSkipped = true;
                headNote ??= $"classifier {architecture.ClassifierPrefix} not loaded: {source} was trained for {stored.shape[0]} classes " +
                             $"({key} is {Shape(stored)}), the model has {destination.shape[0]} ({Shape(destination)})";
                continue;
            }
            throw new WeightMismatchException(
                $"{source}: {key} has shape {Shape(stored)} but {architecture.Name} needs {Shape(destination)}.");
        }

        int loaded = 0;
        using (no_grad())
        {
            foreach (var (key, destination) in target)
            {
                if (!state.TryGetValue(key, out var value) || (headSkipped && architecture.IsClassifierKey(key))) continue;
                destination.copy_(value.to(destination.dtype));
                loaded++;
            }
        }
        return new WeightLoadReport(source, loaded, headSkipped, headNote);
    }

    // Files from PyTorch before 0.4.1, and some exporters, have no BatchNorm step counters.
    static bool IsOptional(string key) => key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}

using MlNetTransfer.Engine.Architectures;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Where pretrained weights come from, with nothing downloaded: the embedded ImageNet ResNet18 (from the
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 package, copied next to the app as DnnImageModels/), or a file the user
/// names. Training from scratch happens only when asked for by name.</summary>
public static class PretrainedCatalog
{
    /// <summary>The value of a weights option that asks for random initialisation.</summary>
    public const string Scratch = "scratch";

    public const string EmbeddedResNet18 = "resnet18_cntk.imagenet";

    /// <summary>The DnnImageModels folder next to the app; override with MLNETTRANSFER_DNN_MODELS.</summary>
    public static string DnnImageModelsDirectory =>
        Environment.GetEnvironmentVariable("MLNETTRANSFER_DNN_MODELS") is { Length: > 0 } custom
            ? custom
            : Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>Whether <paramref name="weights"/> can name weights at all — <see cref="Scratch"/>, an embedded name or an
    /// existing file — checked without reading anything, so a mistyped path is refused before any work.</summary>
    public static bool CanResolve(string weights) =>
        string.Equals(weights, Scratch, StringComparison.OrdinalIgnoreCase)
        || ArchitectureRegistry.All.Any(a => string.Equals(weights, a.Embedded?.Name, StringComparison.OrdinalIgnoreCase))
        || File.Exists(weights);

    /// <summary>The weights available without any file from the user: those the architecture rows declare, where their
    /// files are present.</summary>
    public static IReadOnlyList<PretrainedWeights> Embedded() =>
        ArchitectureRegistry.All.Where(a => a.Embedded != null)
            .Select(a => a.Embedded!.Open(DnnImageModelsDirectory, a.Name))
            .OfType<PretrainedWeights>()
            .ToList();

    /// <summary>
    /// The weights for <paramref name="architecture"/>: <paramref name="weights"/> null → the embedded default;
    /// <see cref="Scratch"/> → none (random initialisation, returns null); a catalog name; or a file path
    /// (.pth / .safetensors / .dat, torchvision layout, ImageNet preprocessing unless <paramref name="preprocessing"/>
    /// says otherwise). Throws with what to do when an architecture has no weights.
    /// </summary>
    public static PretrainedWeights? Resolve(Architecture architecture, string? weights, Preprocessing? preprocessing = null)
    {
        if (string.Equals(weights, Scratch, StringComparison.OrdinalIgnoreCase)) return null;
        if (weights == null)
            return Embedded().FirstOrDefault(w => w.Architecture == architecture.WeightsOf)
                   ?? throw new NoPretrainedWeightsException(
                       $"{architecture.Name} has no embedded pretrained weights (embedded: {string.Join(", ", Embedded().Select(w => $"{w.Name} for {w.Architecture}").DefaultIfEmpty("none found in " + DnnImageModelsDirectory))}). " +
                       $"Pass a weights file — a torchvision state dict such as {architecture.TorchvisionWeightsFile ?? "alexnet-owt-7be5be79.pth"}, a .safetensors or a TorchSharp .dat — " +
                       $"or ask for training from scratch explicitly with weights '{Scratch}'.");
        var named = Embedded().FirstOrDefault(w => string.Equals(w.Name, weights, StringComparison.OrdinalIgnoreCase));
        if (named != null) return named;
        if (!File.Exists(weights))
            throw new FileNotFoundException($"Weights '{weights}' is neither an embedded weight name ({string.Join(", ", Embedded().Select(w => w.Name))}) nor an existing file.", weights);
        return new PretrainedWeights(weights, architecture.Name, $"weights file {Path.GetFileName(weights)}", weights,
            preprocessing ?? architecture.FilePreprocessing, () => StateDictFile.Read(weights));
    }
}

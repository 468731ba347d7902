using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Strategies;

/// <summary>
/// The recipe's guide as a decision: dataset size (images per class) × similarity to the pretraining data, with
/// the device weighing in. Similarity is measured, not guessed: a linear probe (logistic regression) trained on the
/// frozen pretrained features of a stratified sample of the data, scored on a held-out half of that sample, and
/// rescaled so chance is 0 and perfect is 1.
/// </summary>
public static class AutoStrategy
{
    /// <summary>Fewer images per class than this is "small" data.</summary>
    public const double SmallDataImagesPerClass = 250;

    /// <summary>A probe at least this far from chance towards perfect (0..1) means "similar" data.</summary>
    public const double SimilarityThreshold = 0.5;

    /// <summary>Images per class the probe samples.</summary>
    public const int ProbeImagesPerClass = 20;

    /// <summary>Probes <paramref name="model"/> (already holding its pretrained weights; moved to
    /// <paramref name="device"/>) on <paramref name="data"/> and decides.</summary>
    public static AutoDecision Choose(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing,
        ImageTensorDataset data, Device device, int seed)
    {
        var (probe, chance) = ProbeAccuracy(model, architecture, preprocessing, data, device, seed);
        double imagesPerClass = (double)data.Count / data.ClassNames.Count;
        return Decide(imagesPerClass, probe, chance, device.type == DeviceType.CUDA);
    }

    /// <summary>The decision from the measured numbers.</summary>
    public static AutoDecision Decide(double imagesPerClass, double probeAccuracy, double chanceAccuracy, bool onGpu)
    {
        double similarity = Math.Clamp((probeAccuracy - chanceAccuracy) / (1 - chanceAccuracy), 0, 1);
        bool small = imagesPerClass < SmallDataImagesPerClass, similar = similarity >= SimilarityThreshold;
        var (strategy, why) = (small, similar) switch
        {
            (true, true) => (FineTuneStrategy.HeadOnly, "small and similar data: train the classifier on the pretrained features"),
            (true, false) => (FineTuneStrategy.InitialLayers, "small and different data: retrain the low-level layers and the classifier"),
            (false, true) => onGpu
                ? (FineTuneStrategy.WholeNetwork, "large and similar data with a GPU: the whole network at discriminative learning rates")
                : (FineTuneStrategy.LastLayers, "large and similar data on CPU: the last layers, which is most of the gain for a fraction of the compute"),
            (false, false) => (FineTuneStrategy.RetrainAll, "large and different data: retrain everything from the checkpoint"),
        };
        var reason = $"{why} ({imagesPerClass:0.#} images per class, {(small ? "<" : "≥")} {SmallDataImagesPerClass}; " +
                     $"linear probe {probeAccuracy:P1} vs chance {chanceAccuracy:P1}, similarity {similarity:0.00} " +
                     $"{(similar ? "≥" : "<")} {SimilarityThreshold}; {(onGpu ? "GPU" : "CPU")})";
        return new AutoDecision(strategy, imagesPerClass, probeAccuracy, chanceAccuracy, similarity, onGpu, reason);
    }

    /// <summary>Held-out accuracy of a logistic regression on the frozen features of a stratified sample, and the
    /// chance accuracy (the largest class share of the held-out half).</summary>
    public static (double Accuracy, double Chance) ProbeAccuracy(nn.Module<Tensor, Tensor> model, Architecture architecture,
        Preprocessing preprocessing, ImageTensorDataset data, Device device, int seed)
    {
        var shuffler = new Random(seed);
        var fit = new List<long>();
        var held = new List<long>();
        var labels = data.Labels.data<long>().ToArray();
        foreach (var rows in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var sample = rows.Select(i => (long)i).ToArray();
            shuffler.Shuffle(sample);
            sample = sample.Take(ProbeImagesPerClass).ToArray();
            int half = sample.Length / 2;
            held.AddRange(sample.Take(half));
            fit.AddRange(sample.Skip(half));
        }
        if (held.Count == 0) throw new ArgumentException("the probe needs at least two images in some class", nameof(data));

        var head = (nn.Module<Tensor, Tensor>?)model.named_modules().FirstOrDefault(m => m.name == architecture.ClassifierPrefix).module
                   ?? throw new InvalidOperationException($"{architecture.Name}: no module named {architecture.ClassifierPrefix}");
        model.to(device);
        using var fitData = data.Subset(fit);
        using var heldData = data.Subset(held);
        using var fitFeatures = FrozenFeatureCache.Build(model, head, preprocessing, fitData, 64, device);
        using var heldFeatures = FrozenFeatureCache.Build(model, head, preprocessing, heldData, 64, device);

        using var scope = NewDisposeScope();
        var mean = fitFeatures.Features.mean([0], keepdim: true);
        var std = fitFeatures.Features.std(0, keepdim: true) + 1e-6f;
        var x = (fitFeatures.Features - mean) / std;
        var xHeld = (heldFeatures.Features - mean) / std;
        torch.random.manual_seed(seed);
        using var probe = nn.Linear(x.shape[1], data.ClassNames.Count).to(device);
        using var optimizer = optim.Adam(probe.parameters(), lr: 0.01, weight_decay: 1e-3);
        for (int step = 0; step < 200; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.cross_entropy(probe.call(x), fitFeatures.Labels).backward();
            optimizer.step();
        }
        using var _ = no_grad();
        double accuracy = probe.call(xHeld).argmax(1).eq(heldFeatures.Labels).to_type(ScalarType.Float64).mean().item<double>();
        double chance = heldFeatures.Labels.bincount(null, data.ClassNames.Count).max().item<long>() / (double)held.Count;
        return (accuracy, chance);
    }
}

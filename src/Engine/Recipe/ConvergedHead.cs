using System.Diagnostics;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// The first step of every strategy: the classifier solved to convergence on the frozen backbone's features (a
/// softmax regression by L-BFGS, <see cref="LinearHead"/>), its L2 penalty chosen on the validation split. This is
/// the same model as ML.NET's DnnImageFeaturizer + LbfgsMaximumEntropy — solved, not trained for a few epochs — and
/// it is where deeper strategies start from, so no backbone layer ever trains against a random classifier.
/// </summary>
public static class ConvergedHead
{
    /// <summary>Penalties tried, strongest first (each fit warm-starts the next).</summary>
    public static readonly double[] PenaltyGrid = [10, 3, 1, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 1e-4];

    /// <summary>The penalty used when there is no validation split to choose one on.</summary>
    public const double DefaultPenalty = 0.01;

    /// <summary>Chooses the penalty on (<paramref name="validationFeatures"/>, <paramref name="validationLabels"/>)
    /// by log-loss (a proper score: on a small validation split, accuracy moves in steps of one image and picked a
    /// penalty 5 points worse on the test set); a given <paramref name="penalty"/> is used as is. Returns the head
    /// fitted on the training features alone, and the choice.</summary>
    public static (LinearHead Head, HeadChoice Choice) Choose(Tensor features, Tensor labels, Tensor? validationFeatures,
        Tensor? validationLabels, int classCount, int imageSize, double? penalty, Tensor? classWeights)
    {
        var clock = Stopwatch.StartNew();
        var candidates = new List<HeadChoice.Candidate>();
        LinearHead? best = null, previous = null;
        double bestAccuracy = double.NegativeInfinity, bestLoss = double.PositiveInfinity, bestPenalty = penalty ?? DefaultPenalty;
        bool validate = validationFeatures is not null && validationLabels is not null;
        foreach (var l2 in penalty is { } given || !validate ? [penalty ?? DefaultPenalty] : PenaltyGrid)
        {
            var head = LinearHead.Fit(features, labels, classCount, l2, classWeights, warmStart: previous);
            if (previous != null && previous != best) previous.Dispose();
            previous = head;
            if (!validate)
            {
                best = head;
                break;
            }
            var (loss, accuracy) = head.Score(validationFeatures!, validationLabels!);
            candidates.Add(new HeadChoice.Candidate(l2, accuracy, loss));
            if (loss < bestLoss)
            {
                if (best != null && best != head) best.Dispose();
                (best, bestAccuracy, bestLoss, bestPenalty) = (head, accuracy, loss, l2);
            }
        }
        if (previous != null && previous != best) previous.Dispose();
        var (_, trainAccuracy) = best!.Score(features, labels);
        var choice = new HeadChoice(bestPenalty, imageSize, trainAccuracy, validate ? bestAccuracy : null, validate ? bestLoss : null,
            best.Iterations, best.Converged, candidates, clock.Elapsed.TotalSeconds);
        return (best, choice);
    }

    /// <summary>Copies a solved head into the network's classifier (a Linear layer in every registry architecture).</summary>
    public static void Install(nn.Module<Tensor, Tensor> model, Architecture architecture, LinearHead head)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var state = model.state_dict();
        var prefix = architecture.ClassifierPrefix;
        if (!state.TryGetValue($"{prefix}.weight", out var weight) || !state.TryGetValue($"{prefix}.bias", out var bias))
            throw new InvalidOperationException($"{architecture.Name}: the classifier {prefix} is not a Linear layer with a bias");
        if (!weight.shape.SequenceEqual(head.Weight.shape))
            throw new InvalidOperationException($"{architecture.Name}: classifier {prefix} is [{string.Join(",", weight.shape)}], the solved head [{string.Join(",", head.Weight.shape)}]");
        weight.copy_(head.Weight);
        bias.copy_(head.Bias);
    }

    /// <summary>How many values the network's classifier reads (its Linear layer's input width).</summary>
    public static long InputWidth(nn.Module<Tensor, Tensor> model, Architecture architecture) =>
        model.state_dict().TryGetValue($"{architecture.ClassifierPrefix}.weight", out var weight) && weight.dim() == 2
            ? weight.shape[1]
            : throw new InvalidOperationException($"{architecture.Name}: the classifier {architecture.ClassifierPrefix} is not a Linear layer");

    /// <summary>The classifier's inputs for every image of <paramref name="data"/>, with the network frozen (eval
    /// mode), on the training device: by ONNX Runtime on the CPU (<see cref="OnnxFeaturePass"/>), by libtorch in the
    /// network's fastest layout elsewhere. A cancellation throws
    /// <see cref="OperationCanceledException"/> between batches; <paramref name="progress"/> counts the images.</summary>
    public static Tensor Features(nn.Module<Tensor, Tensor> model, Architecture architecture, Weights.Preprocessing preprocessing,
        ImageTensorDataset data, int batchSize, Device device, bool channelsLast, CancellationToken cancellation = default,
        PhaseProgress? progress = null)
    {
        var head = model.named_modules().FirstOrDefault(m => m.name == architecture.ClassifierPrefix).module as nn.Module<Tensor, Tensor>
                   ?? throw new InvalidOperationException($"{architecture.Name}: no module named {architecture.ClassifierPrefix}");
        model.to(device);
        if (OnnxFeaturePass.Applies(device))
            return OnnxFeaturePass.Compute(model, architecture, preprocessing, data, Math.Max(batchSize, 64), cancellation, progress: progress);
        if (channelsLast) ChannelsLast.Apply(model);
        try
        {
            var cache = FrozenFeatureCache.Build(model, head, preprocessing, data, Math.Max(batchSize, 64), device, channelsLast, cancellation, progress);
            cache.Labels.Dispose();
            return cache.Features; // handed over, not copied: for 50 000 images of AlexNet's 4 096 features that is 0.8 GB
        }
        finally
        {
            if (channelsLast) ChannelsLast.Revert(model);
        }
    }
}

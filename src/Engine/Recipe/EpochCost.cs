using System.Diagnostics;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>
/// What an epoch of a strategy costs on this device, measured: a few training steps (forward, backward and an AdamW
/// step at learning rate 0, so no weight changes) on a real batch resized to the candidate side, after one warm-up
/// step, plus the validation pass at a third of a step's cost per image, with the batch a run at that side takes. The
/// model is left as it was: BatchNorm runs in eval mode (no running-statistics update), gradients are dropped,
/// trainability is restored. What the run spends at that side after its epochs comes from one timed forward pass of
/// the same batch (after an untimed one): the classifier's features at a side that is not
/// <paramref name="headSide"/> (with the images read again there, as long as <paramref name="readSeconds"/> took at
/// the head's side), the test-time flip's two passes over the validation images, and the pass over
/// <paramref name="familiarImages"/> that lets the model call images unfamiliar (<see cref="Familiarity"/>; 0 when off).
/// </summary>
public sealed class EpochCost(nn.Module<Tensor, Tensor> model, ImageTensorDataset sample, Preprocessing preprocessing,
    Func<int, int> batchSizeAt, int trainImages, int validationImages, Device device, bool channelsLast, bool augment, int seed,
    int headSide, double readSeconds, int familiarImages = 0)
{
    const int TimedSteps = 2;
    readonly Dictionary<(string Trainable, int Side), double> _measured = [];
    readonly Dictionary<int, double> _forward = [];

    /// <summary>Seconds per epoch of <paramref name="plan"/> at <paramref name="side"/> and the seconds after the epochs.</summary>
    public AutoStrategy.Cost Of(StrategyPlan plan, int side)
    {
        double perEpoch = SecondsPerEpoch(plan, side);
        double forward = _forward[side];
        double features = side == headSide ? 0 : readSeconds + forward * sample.Count;
        return new AutoStrategy.Cost(perEpoch, features + forward * (2 * validationImages + familiarImages));
    }

    /// <summary>The timed forward pass's seconds per image at <paramref name="side"/>, once <see cref="Of"/> has
    /// measured that side: what each image of the passes after the epochs is counted at.</summary>
    internal double ForwardSecondsAt(int side) => _forward[side];

    /// <summary>Seconds per epoch for <paramref name="plan"/> at <paramref name="side"/> (measured once per set of
    /// trainable groups and side).</summary>
    double SecondsPerEpoch(StrategyPlan plan, int side)
    {
        var key = (string.Join(",", plan.Trainable), side);
        if (!_measured.TryGetValue(key, out var perImage))
            _measured[key] = perImage = SecondsPerImage(plan, side);
        return perImage * (trainImages + validationImages / 3.0);
    }

    /// <summary>Seconds per image of a forward pass without gradients over <paramref name="x"/> at
    /// <paramref name="side"/>: the second of two, the first allocating anew.</summary>
    double ForwardSecondsPerImage(Tensor x, int side)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var input = preprocessing.At(side).Normalize(channelsLast ? ChannelsLast.Of(x) : x);
        model.call(input).sum().item<float>(); // waits for the device
        var clock = Stopwatch.StartNew();
        model.call(input).sum().item<float>();
        return clock.Elapsed.TotalSeconds / x.shape[0];
    }

    double SecondsPerImage(StrategyPlan plan, int side)
    {
        var saved = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad);
        model.to(device);
        if (channelsLast) ChannelsLast.Apply(model);
        try
        {
            var groups = plan.Apply(model);
            using var optimizer = new FlatOptimizer(groups.Select(g => (g.Parameters, 0.0)), OptimizerKind.AdamW, 0); // the run's step, at rate 0
            model.eval();
            using var scope = NewDisposeScope();
            long count = Math.Min(batchSizeAt(side), sample.Count); // the batch a run at this side would train with
            var x = sample.Slice(0, count).to(device).to_type(ScalarType.Float32);
            if (x.shape[2] != side) x = nn.functional.interpolate(x, size: [side, side], mode: InterpolationMode.Bilinear, align_corners: false);
            var y = sample.Labels.narrow(0, 0, count).to(device);
            var augmenter = augment ? new Augmenter(seed) : null;
            double seconds = 0;
            for (int step = 0; step <= TimedSteps; step++)
            {
                using var stepScope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                var input = augmenter?.Apply(x, 0, step) ?? x;
                if (channelsLast) input = ChannelsLast.Of(input);
                optimizer.ZeroGrad();
                var loss = nn.functional.cross_entropy(model.call(preprocessing.At(side).Normalize(input)), y);
                loss.backward();
                optimizer.Step();
                loss.item<float>(); // waits for the device
                if (step > 0) seconds += clock.Elapsed.TotalSeconds;
            }
            optimizer.ZeroGrad();
            if (!_forward.ContainsKey(side)) _forward[side] = ForwardSecondsPerImage(x, side);
            return seconds / (TimedSteps * count);
        }
        finally
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                parameter.requires_grad = saved[name];
                parameter.grad?.Dispose();
                parameter.grad = null;
            }
            if (channelsLast) ChannelsLast.Revert(model);
        }
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Training in the channels-last layout: same values, same parameter objects, the standard layout handed back.</summary>
[Collection(TorchRandomCollection.Name)]
public class ChannelsLastTests
{
    public ChannelsLastTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_batch_keeps_its_shape_and_values_and_only_its_strides_change()
    {
        using var x = HeldScalars.Range(0, 2 * 3 * 4 * 5, 1, ScalarType.Float32).reshape(2, 3, 4, 5);
        using var nhwc = ChannelsLast.Of(x);

        Assert.Equal(x.shape, nhwc.shape);
        Assert.True(nhwc.eq(x).all().item<bool>());
        Assert.True(ChannelsLast.Is(nhwc));
        Assert.False(ChannelsLast.Is(x));
        Assert.Equal([60L, 1, 15, 3], nhwc.stride());
        using var flat = ones(3);
        Assert.Throws<ArgumentException>(() => ChannelsLast.Of(flat));
    }

    [Fact]
    public void Apply_and_revert_keep_the_parameters_and_what_the_model_computes()
    {
        random.manual_seed(4);
        using var model = ArchitectureRegistry.Get("resnet18").Create(5);
        model.eval();
        using var x = randn(2, 3, 64, 64);
        using var before = model.call(x);
        var parameters = model.named_parameters().ToList();

        ChannelsLast.Apply(model);
        var applied = model.named_parameters().ToList();
        using var during = model.call(x);
        Assert.All(applied.Where(p => p.parameter.dim() == 4), p => Assert.True(ChannelsLast.Is(p.parameter), $"{p.name} is not NHWC"));
        Assert.Equal(20, applied.Count(p => p.parameter.dim() == 4)); // resnet18's convolutions, downsample ones included

        ChannelsLast.Revert(model);
        using var after = model.call(x);
        var reverted = model.named_parameters().ToList();

        for (int i = 0; i < parameters.Count; i++)
        {
            Assert.Same(parameters[i].parameter, applied[i].parameter);
            Assert.Same(parameters[i].parameter, reverted[i].parameter);
            Assert.True(reverted[i].parameter.is_contiguous(), $"{reverted[i].name} is not contiguous after Revert");
        }
        // a randomly initialised resnet18 in eval mode does not normalise, so its logits can be large; the layouts sum in
        // different orders, whose rounding differs with the CPU's kernels (AVX2 or AVX-512): compare relative to the scale
        double scale = before.abs().max().item<float>(), diff = (during - before).abs().max().item<float>();
        // where oneDNN's channels-last convolutions compute wrong values (a CPU whose caches cpuid leaves undescribed),
        // the engine does not use the layout: that is what is pinned there
        if (OneDnnGuard.BreaksChannelsLast) Assert.False(ChannelsLast.Applies(null, CPU), "channels-last chosen where oneDNN computes it wrong");
        else Assert.True(diff <= 1e-3 * scale, $"max diff {diff} on logits up to {scale}");
        Assert.True(after.eq(before).all().item<bool>());
    }

    [Fact]
    public void Training_in_either_layout_gives_the_same_model_back_in_the_standard_layout()
    {
        using var data = SyntheticImages.ColourClasses(perClass: 12);
        var tiny = ArchitectureRegistry.Get("tiny");
        Dictionary<string, Tensor> Train(bool channelsLast)
        {
            random.manual_seed(5);
            using var model = tiny.Create(3);
            var options = new FineTuneOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.02, Seed = 3, Augment = false, ChannelsLast = channelsLast, TrainBatchNormStatistics = true,
                // SGD: the tiny net's conv biases feed BatchNorm, so their gradients are rounding noise that Adam would scale up to full steps
                Optimizer = OptimizerKind.Sgd };
            FineTuner.Fit(model, StrategyPlan.For(tiny, FineTuneStrategy.RetrainAll), Preprocessing.Unit(16), data, null, options);
            Assert.All(model.parameters(), p => Assert.True(p.is_contiguous()));
            return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }

        var standard = Train(channelsLast: false);
        var nhwc = Train(channelsLast: true);

        Assert.All(standard.Keys, k => Assert.True(standard[k].allclose(nhwc[k], rtol: 1e-3, atol: 1e-4),
            $"{k}: max diff {(standard[k].to_type(ScalarType.Float64) - nhwc[k].to_type(ScalarType.Float64)).abs().max().item<double>()}"));
    }

    [Fact]
    public void The_layout_is_used_on_the_cpu_unless_asked_otherwise_or_onednn_computes_it_wrong_there()
    {
        Assert.Equal(!OneDnnGuard.BreaksChannelsLast, ChannelsLast.Applies(null, CPU));
        Assert.False(ChannelsLast.Applies(null, new Device(DeviceType.CUDA, 0)));
        Assert.False(ChannelsLast.Applies(false, CPU));
        Assert.True(ChannelsLast.Applies(true, new Device(DeviceType.CUDA, 0)));
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Which parameters train under each of the recipe's strategies, and at what learning-rate scale.</summary>
public class StrategyPlanTests
{
    public StrategyPlanTests() => TorchRuntime.EnsureLoaded();

    static string[] Trained(string architecture, FineTuneStrategy strategy)
    {
        var arch = ArchitectureRegistry.Get(architecture);
        using var model = arch.Create(4);
        StrategyPlan.For(arch, strategy).Apply(model);
        return model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToArray();
    }

    [Fact]
    public void Head_only_on_alexnet_is_the_recipe_freeze_features_train_classifier_6()
    {
        Assert.Equal(new[] { "classifier.6.weight", "classifier.6.bias" }, Trained("alexnet", FineTuneStrategy.HeadOnly));
    }

    [Fact]
    public void Initial_layers_trains_the_low_level_group_and_the_head()
    {
        var trained = Trained("resnet18", FineTuneStrategy.InitialLayers);

        Assert.Equal(new[] { "conv1.weight", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias" }, trained);
    }

    [Fact]
    public void Last_layers_trains_the_last_backbone_group_and_the_head()
    {
        var trained = Trained("resnet18", FineTuneStrategy.LastLayers);

        Assert.All(trained, name => Assert.True(name.StartsWith("layer4.") || name.StartsWith("fc."), name));
        Assert.Contains("layer4.1.conv2.weight", trained);
        Assert.Contains("fc.weight", trained);
    }

    [Theory]
    [InlineData(FineTuneStrategy.WholeNetwork)]
    [InlineData(FineTuneStrategy.RetrainAll)]
    public void Whole_network_strategies_train_every_parameter(FineTuneStrategy strategy)
    {
        using var model = ArchitectureRegistry.Get("mobilenet_v2").Create(4);

        Assert.Equal(model.parameters().Count(), Trained("mobilenet_v2", strategy).Length);
    }

    [Fact]
    public void Whole_network_rates_rise_geometrically_from_a_hundredth_to_the_base_rate()
    {
        var plan = StrategyPlan.For(ArchitectureRegistry.Get("resnet18"), FineTuneStrategy.WholeNetwork);

        Assert.Equal(0.01, plan.RateScales[0], 9);
        Assert.Equal(1.0, plan.RateScales[^1], 9);
        for (int g = 1; g < plan.RateScales.Count; g++)
            Assert.Equal(Math.Pow(100, 1.0 / 5), plan.RateScales[g] / plan.RateScales[g - 1], 9);
        Assert.All(StrategyPlan.For(ArchitectureRegistry.Get("resnet18"), FineTuneStrategy.RetrainAll).RateScales, s => Assert.Equal(1.0, s));
    }

    [Fact]
    public void Optimizer_groups_hold_only_trainable_parameters_with_their_scale()
    {
        var arch = ArchitectureRegistry.Get("tiny");
        using var model = arch.Create(3);

        var groups = StrategyPlan.For(arch, FineTuneStrategy.LastLayers).Apply(model);

        Assert.Equal(2, groups.Count);
        Assert.All(groups, g => Assert.All(g.Parameters, p => Assert.True(p.requires_grad)));
        Assert.Equal(model.parameters().Count(p => p.requires_grad), groups.Sum(g => g.Parameters.Count));
        Assert.True(StrategyPlan.For(arch, FineTuneStrategy.HeadOnly).BackboneFrozen);
        Assert.False(StrategyPlan.For(arch, FineTuneStrategy.InitialLayers).BackboneFrozen);
    }

    [Fact]
    public void Frozen_groups_keep_their_batchnorm_statistics_in_training_mode()
    {
        var arch = ArchitectureRegistry.Get("tiny");
        using var model = arch.Create(3);
        var plan = StrategyPlan.For(arch, FineTuneStrategy.LastLayers); // block1 frozen, block2 trains
        plan.Apply(model);
        var frozenMean = model.state_dict()["features.1.running_mean"].clone();
        var trainedMean = model.state_dict()["features.5.running_mean"].clone();

        model.train();
        plan.FreezeBatchNormStatistics(model);
        using (no_grad()) model.call(randn(8, 3, 16, 16).Times(3).Plus(2));

        Assert.True(frozenMean.allclose(model.state_dict()["features.1.running_mean"], rtol: 0, atol: 0), "a frozen group's BatchNorm statistics moved");
        Assert.False(trainedMean.allclose(model.state_dict()["features.5.running_mean"], rtol: 0, atol: 0), "a training group's BatchNorm statistics did not move");
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The flat-buffer optimizer step is TorchSharp's AdamW / SGD, bit for bit on the CPU, in a few kernels per
/// parameter group, with contiguous or channels-last weights.</summary>
[Collection(TorchRandomCollection.Name)]
public class FlatOptimizerTests
{
    static readonly Architecture Tiny = ArchitectureRegistry.Get("tiny");

    public FlatOptimizerTests() => TorchRuntime.EnsureLoaded();

    static Dictionary<string, Tensor> Weights(nn.Module<Tensor, Tensor> model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    [Theory]
    [InlineData(OptimizerKind.AdamW, false)]
    [InlineData(OptimizerKind.Sgd, false)]
    [InlineData(OptimizerKind.AdamW, true)]
    [InlineData(OptimizerKind.Sgd, true)]
    public void Steps_give_the_weights_of_TorchSharps_optimizer_exactly_with_two_groups_and_changing_rates(OptimizerKind kind, bool channelsLast)
    {
        var initial = new Dictionary<string, Tensor>();
        Dictionary<string, Tensor> Train(bool flat)
        {
            random.manual_seed(11);
            using var model = Tiny.Create(3);
            initial = Weights(model);
            if (channelsLast) ChannelsLast.Apply(model);
            var parameters = model.named_parameters().ToList();
            var head = parameters.Where(p => p.name.StartsWith("classifier")).Select(p => p.parameter).ToList();
            var body = parameters.Where(p => !p.name.StartsWith("classifier")).Select(p => p.parameter).ToList();
            (IReadOnlyList<Parameter>, double)[] groups = [(body, 0.01), (head, 0.1)];
            const double decay = 1e-2;
            using IOptimizerStep optimizer = flat ? new FlatOptimizer(groups, kind, decay)
                : new TorchOptimizerStep(kind == OptimizerKind.AdamW
                    ? optim.AdamW(groups.Select(g => new AdamW.ParamGroup(g.Item1, lr: g.Item2, weight_decay: decay)), lr: 0.1)
                    : optim.SGD(groups.Select(g => new SGD.ParamGroup(g.Item1, lr: g.Item2, momentum: 0.9, weight_decay: decay, nesterov: true)), 0.1), channelsLast);
            var generator = new Generator(7);
            for (int step = 0; step < 6; step++)
            {
                using var scope = NewDisposeScope();
                for (int g = 0; g < optimizer.Groups; g++) optimizer.SetRate(g, groups[g].Item2 * (1 + step) / 6);
                optimizer.ZeroGrad();
                var x = randn([4, 3, 8, 8], generator: generator);
                var y = tensor(new long[] { 0, 1, 2, 1 });
                nn.functional.cross_entropy(model.call(x), y).backward();
                optimizer.Step();
            }
            Assert.Equal(channelsLast, ChannelsLast.Is(model.named_parameters().First(p => p.name == "features.0.weight").parameter));
            return Weights(model);
        }

        var expected = Train(flat: false);
        var actual = Train(flat: true);
        Assert.All(expected.Keys, k => Assert.True(expected[k].equal(actual[k]).all().item<bool>(), $"{k} differs"));
        Assert.All(["classifier.weight", "features.0.weight"], k => Assert.False(initial[k].equal(actual[k]).all().item<bool>(), $"{k} did not train"));
    }

    [Theory]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void A_fine_tuning_run_gives_the_same_model_and_history_with_either_step(OptimizerKind kind)
    {
        using var data = SyntheticImages.ColourClasses(perClass: 16);
        (Dictionary<string, Tensor>, TrainingResult) Train(bool flat)
        {
            random.manual_seed(5);
            using var model = Tiny.Create(3);
            var options = new FineTuneOptions
            {
                Epochs = 3, BatchSize = 16, LearningRate = 0.02, Seed = 3, EarlyStoppingPatience = 0, TrainBatchNormStatistics = true,
                Optimizer = kind, ChannelsLast = false, Augment = true,
            };
            var result = FineTuner.Fit(model, StrategyPlan.For(Tiny, FineTuneStrategy.WholeNetwork), Preprocessing.Unit(16), data, null, options,
                new TrainingContext { FlatOptimizer = flat });
            return (Weights(model), result);
        }

        var (expected, expectedRun) = Train(flat: false);
        var (actual, actualRun) = Train(flat: true);
        Assert.All(expected.Keys, k => Assert.True(expected[k].equal(actual[k]).all().item<bool>(), $"{k} differs"));
        Assert.Equal(expectedRun.History.Select(h => (h.TrainLoss, h.ValidationAccuracy)), actualRun.History.Select(h => (h.TrainLoss, h.ValidationAccuracy)));
    }

    [Fact]
    public void A_checkpoint_of_the_other_kind_of_step_is_refused_with_a_clear_error()
    {
        random.manual_seed(3);
        using var model = Tiny.Create(3);
        var parameters = model.parameters().ToList();
        using var torchStep = new TorchOptimizerStep(optim.AdamW(parameters, 0.01), false);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) torchStep.Save(writer);
        using var flat = new FlatOptimizer([(parameters, 0.01)], OptimizerKind.AdamW, 0);
        buffer.Position = 0;
        var error = Assert.Throws<InvalidDataException>(() => flat.Load(new BinaryReader(buffer)));
        Assert.Contains("another kind of optimizer step", error.Message);
    }

    [Fact]
    public void A_checkpoint_holds_the_state_in_logical_order_whatever_the_layout_and_resumes_exactly()
    {
        Dictionary<string, Tensor> Steps(nn.Module<Tensor, Tensor> model, IOptimizerStep optimizer, int seed)
        {
            var generator = new Generator((ulong)seed);
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.ZeroGrad();
                nn.functional.cross_entropy(model.call(randn([4, 3, 8, 8], generator: generator)), tensor(new long[] { 0, 1, 2, 1 })).backward();
                optimizer.Step();
            }
            return Weights(model);
        }
        static byte[] Saved(IOptimizerStep optimizer)
        {
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer)) optimizer.Save(writer);
            return buffer.ToArray();
        }
        static FlatOptimizer Resumed(nn.Module<Tensor, Tensor> model, byte[] state)
        {
            var optimizer = new FlatOptimizer([(model.parameters().ToList(), 0.01)], OptimizerKind.AdamW, 1e-2);
            optimizer.Load(new BinaryReader(new MemoryStream(state)));
            return optimizer;
        }

        random.manual_seed(4);
        using var model = Tiny.Create(3);
        ChannelsLast.Apply(model);
        using var optimizer = new FlatOptimizer([(model.parameters().ToList(), 0.01)], OptimizerKind.AdamW, 1e-2);
        Steps(model, optimizer, 1);
        var state = Saved(optimizer);

        using var standard = Tiny.Create(3);
        standard.load_state_dict(Weights(model));
        using (var onStandard = Resumed(standard, state))
            Assert.Equal(state, Saved(onStandard)); // the same bytes from NCHW weights: the state is in logical order

        using var again = Tiny.Create(3);
        again.load_state_dict(Weights(model));
        ChannelsLast.Apply(again);
        using var resumed = Resumed(again, state);
        var expected = Steps(model, optimizer, 2);
        var actual = Steps(again, resumed, 2);
        Assert.All(expected.Keys, k => Assert.True(expected[k].equal(actual[k]).all().item<bool>(), $"{k} differs after the resume"));
    }
}

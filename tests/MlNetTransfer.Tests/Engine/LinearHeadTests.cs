using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The classifier solved on fixed features: converged (the penalised objective's gradient vanishes at the
/// answer), independent of where the solve starts, and its penalty chosen on validation.</summary>
public class LinearHeadTests
{
    public LinearHeadTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Three Gaussian classes in 20-d with shifted, scaled coordinates (as pooled CNN features are).</summary>
    static (Tensor X, Tensor Y) Blobs(int perClass, int seed, double spread = 1.5)
    {
        var generator = new Generator((ulong)seed);
        var centres = randn(3, 20, generator: new Generator(7)).Times(2);
        var x = new List<Tensor>();
        var y = new List<long>();
        for (int c = 0; c < 3; c++)
        {
            x.Add(centres[c].Plus(randn(perClass, 20, generator: generator).Times(spread)));
            y.AddRange(Enumerable.Repeat((long)c, perClass));
        }
        var scale = linspace(0.1, 10, 20);
        return ((cat(x, 0) * scale).Plus(5), tensor(y.ToArray()));
    }

    /// <summary>The penalised objective the solver minimises, in the standardised coordinates it solves in, with its
    /// gradient by autograd.</summary>
    static double GradientNorm(LinearHead head, Tensor x, Tensor y, double l2)
    {
        var mean = x.mean([0], keepdim: true);
        var std = x.std(0, keepdim: true).AtLeast(1e-6);
        var w = (head.Weight * std).detach().requires_grad_(true);
        var b = head.Bias.Plus((head.Weight * mean).sum(1)).detach().requires_grad_(true);
        var logits = ((x - mean) / std).matmul(w.t()).Plus(b);
        var loss = nn.functional.cross_entropy(logits, y).Plus((w * w).sum().Times(0.5 * l2));
        loss.backward();
        return Math.Sqrt((w.grad! * w.grad!).sum().item<float>() + (b.grad! * b.grad!).sum().item<float>());
    }

    [Fact]
    public void Converges_to_the_penalised_optimum_from_any_start()
    {
        var (x, y) = Blobs(perClass: 60, seed: 1);
        using var cold = LinearHead.Fit(x, y, 3, l2: 0.01);
        using var stronger = LinearHead.Fit(x, y, 3, l2: 1);
        using var warm = LinearHead.Fit(x, y, 3, l2: 0.01, warmStart: stronger);

        Assert.True(cold.Converged, $"{cold.Iterations} iterations");
        Assert.True(GradientNorm(cold, x, y, 0.01) < 1e-3, $"gradient norm {GradientNorm(cold, x, y, 0.01)} at the answer");
        Assert.True(cold.Logits(x).allclose(warm.Logits(x), rtol: 1e-3, atol: 1e-3), "a warm start reached another answer");
        Assert.True(stronger.Weight.norm().item<float>() < cold.Weight.norm().item<float>()); // the penalty shrinks the weights
    }

    [Fact]
    public void Separates_learnable_classes_and_not_shuffled_labels()
    {
        var (x, y) = Blobs(perClass: 60, seed: 2);
        var (heldX, heldY) = Blobs(perClass: 40, seed: 3);
        using var head = LinearHead.Fit(x, y, 3, l2: 0.01);
        using var noise = LinearHead.Fit(x, y.index_select(0, randperm(y.shape[0], generator: new Generator(4))), 3, l2: 0.01);

        Assert.True(head.Score(heldX, heldY).Accuracy >= 0.95, $"held-out accuracy {head.Score(heldX, heldY).Accuracy}");
        Assert.True(noise.Score(heldX, heldY).Accuracy <= 0.6, $"held-out accuracy {noise.Score(heldX, heldY).Accuracy} from shuffled labels");
    }

    [Fact]
    public void The_penalty_is_chosen_on_validation_and_reported()
    {
        // few noisy training points in 20-d: no penalty overfits, a strong one underfits
        var (x, y) = Blobs(perClass: 8, seed: 5, spread: 4);
        var (heldX, heldY) = Blobs(perClass: 200, seed: 6, spread: 4);

        var (head, choice) = ConvergedHead.Choose(x, y, heldX, heldY, 3, imageSize: 32, penalty: null, classWeights: null);
        using var _ = head;

        Assert.Equal(ConvergedHead.PenaltyGrid.Length, choice.Grid.Count);
        var best = choice.Grid.MinBy(c => c.Loss)!;
        Assert.Equal(best.L2, choice.L2);
        Assert.Equal(best.Accuracy, choice.ValidationAccuracy);
        Assert.True(choice.Grid.Select(c => c.Accuracy).Distinct().Count() > 1, "every penalty scored the same: the choice tested nothing");
        Assert.Contains($"L2 {choice.L2:g2} chosen on validation", choice.Describe());
    }

    [Fact]
    public void Class_weights_move_the_boundary_towards_the_rare_class()
    {
        var (x, y) = Blobs(perClass: 60, seed: 8, spread: 3);
        var keep = cat([HeldScalars.Range(0, 60), HeldScalars.Range(60, 66), HeldScalars.Range(120, 180)]); // class 1: 6 images
        var (xs, ys) = (x.index_select(0, keep), y.index_select(0, keep));
        using var plain = LinearHead.Fit(xs, ys, 3, l2: 0.01);
        using var balanced = LinearHead.Fit(xs, ys, 3, l2: 0.01, classWeights: tensor(ClassWeights.Balanced([60, 6, 60])));

        var (heldX, heldY) = Blobs(perClass: 100, seed: 9, spread: 3);
        double Recall(LinearHead h) => h.Logits(heldX).argmax(1).eq(HeldScalars.One).logical_and(heldY.eq(HeldScalars.One)).sum().item<long>() / 100.0;
        Assert.True(Recall(balanced) > Recall(plain), $"rare-class recall {Recall(balanced)} balanced vs {Recall(plain)}");
    }
}

using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>TorchSharp's native backend loads on this OS and trains: the whole chain the compatibility step
/// exists for.</summary>
public class TorchSharpSmokeTests
{
    [Fact]
    public void Conv_forward_backward_and_optimizer_step_reduce_the_loss()
    {
        TorchRuntime.EnsureLoaded();
        torch.random.manual_seed(7);
        using var scope = torch.NewDisposeScope();

        var model = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size: 3, padding: 1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(8, 2));
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var images = torch.randn(16, 3, 12, 12);
        using var two = 2.ToScalar();
        var labels = HeldScalars.Range(0, 16).remainder(two);
        var signal = labels.eq(HeldScalars.One);
        images[signal] = images[signal].Plus(1); // a signal the net can learn

        var conv = (nn.Module<Tensor, Tensor>)model.children().First();
        var weightBefore = conv.parameters().First().detach().clone();
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(images), labels);
            loss.backward();
            if (step == 0)
                Assert.True(conv.parameters().First().grad!.abs().sum().item<float>() > 0, "the conv weight got no gradient");
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }

        Assert.False(conv.parameters().First().detach().allclose(weightBefore), "the optimizer step did not change the conv weight");
        Assert.True(last < first * 0.7f, $"loss went from {first} to {last}; expected a clear decrease");
    }

}

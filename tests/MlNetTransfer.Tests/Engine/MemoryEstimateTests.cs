using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>The memory estimate stated before a run: measured from every architecture's own layers, growing with
/// the image area and the batch as a run's memory does, and flat in the image count (the decoded images go to a file).</summary>
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class MemoryEstimateTests
{
    public MemoryEstimateTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Every_architecture_is_measured_and_scales_with_area_and_batch_not_image_count()
    {
        foreach (var architecture in ArchitectureRegistry.All)
        {
            int side = Math.Max(64, architecture.MinimumInputSize);
            var small = MemoryEstimate.For(architecture, side, 8, 100, backboneTrains: true);
            var doubleSide = MemoryEstimate.For(architecture, side * 2, 8, 100, backboneTrains: true);
            var doubleBatch = MemoryEstimate.For(architecture, side, 16, 100, backboneTrains: true);
            var frozen = MemoryEstimate.For(architecture, side, 8, 100, backboneTrains: false);

            Assert.True(small.ActivationBytes > 0, $"{architecture.Name}: no layer output seen");
            Assert.Equal(4 * small.ActivationBytes, doubleSide.ActivationBytes, 0.01 * small.ActivationBytes);
            Assert.Equal(4 * small.ImageBytes, doubleSide.ImageBytes);
            Assert.Equal(2 * small.ActivationBytes, doubleBatch.ActivationBytes, 0.01 * small.ActivationBytes);
            Assert.True(frozen.ActivationBytes < small.ActivationBytes / 2, $"{architecture.Name}: frozen features should need a fraction");
            Assert.Equal(100L * 3 * side * side * 2, small.DiskBytes); // the decoded images go to a file, at two sides at most
            Assert.Equal(small.ImageBytes, MemoryEstimate.For(architecture, side, 8, 100_000, backboneTrains: true).ImageBytes); // memory flat in N
        }
    }

    [Fact]
    public void A_resnet18_batch_at_224_px_is_estimated_in_the_range_pytorch_users_know()
    {
        // ResNet-18 keeps about 7.5 M floats of layer outputs per 224 px image in training (the conv, BatchNorm and ReLU
        // outputs of every block, 2.6 M of them in the stem): ~60 MB per image with their gradients, ~2 GB a batch of 32
        var estimate = MemoryEstimate.For(ArchitectureRegistry.Get("resnet18_cntk"), 224, 32, 0, backboneTrains: true);

        Assert.InRange(estimate.ActivationBytes / 1e9, 1.0, 8.0);
        Assert.InRange(estimate.ParameterBytes / 1e6, 150, 400); // 12 M parameters × 4 bytes × 5 copies
    }
}

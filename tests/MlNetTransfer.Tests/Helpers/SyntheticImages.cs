using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Small learnable image sets for engine tests: class c has channel c brighter than the others, which
/// survives flips and crops, plus noise.</summary>
internal static class SyntheticImages
{
    public static ImageTensorDataset ColourClasses(int perClass, int classes = 3, int side = 16, int seed = 0, int[]? counts = null)
    {
        using var hold = HeldTensors.Begin(); // the chains' temporaries, held while libtorch reads them
        var generator = new Generator((ulong)seed);
        var images = new List<Tensor>();
        var labels = new List<long>();
        for (int c = 0; c < classes; c++)
        {
            int n = counts?[c] ?? perClass;
            var x = rand(n, 3, side, side, generator: generator).Times(120);
            using (var bright = 120.ToScalar()) x[.., c % 3].add_(bright, HeldScalars.One);
            images.Add(x.Clamped(0, 255).to_type(ScalarType.Byte));
            labels.AddRange(Enumerable.Repeat((long)c, n));
        }
        return new ImageTensorDataset(cat(images, 0), tensor(labels.ToArray()),
            Enumerable.Range(0, classes).Select(c => $"class{c}").ToList());
    }
}

using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>Random resized crop (scale 0.6–1, aspect 3/4–4/3, resized back to the input side) and horizontal
/// flip, on a batch of images already on the device. Draws come from a seeded <see cref="Random"/>, so a run
/// is reproducible.</summary>
public sealed class Augmenter(int seed)
{
    const double MinScale = 0.6, MinRatio = 3.0 / 4, MaxRatio = 4.0 / 3;
    readonly Random _random = new(seed);

    /// <summary>Augments a float batch [B,C,H,W]; returns a new tensor.</summary>
    public Tensor Apply(Tensor batch)
    {
        using var scope = NewDisposeScope();
        long count = batch.shape[0], height = batch.shape[2], width = batch.shape[3];
        var samples = new Tensor[count];
        for (long i = 0; i < count; i++)
        {
            var (top, left, h, w) = CropBox(height, width);
            var sample = batch[i].unsqueeze(0)[.., .., top..(top + h), left..(left + w)];
            if (h != height || w != width)
                sample = nn.functional.interpolate(sample, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
            if (_random.NextDouble() < 0.5) sample = sample.flip(3);
            samples[i] = sample;
        }
        return cat(samples, 0).MoveToOuterDisposeScope();
    }

    (int Top, int Left, int Height, int Width) CropBox(long height, long width)
    {
        double area = height * width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (MinScale + (1 - MinScale) * _random.NextDouble());
            double ratio = Math.Exp(Math.Log(MinRatio) + (Math.Log(MaxRatio) - Math.Log(MinRatio)) * _random.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * ratio)), h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w < 1 || h < 1 || w > width || h > height) continue;
            return (_random.Next((int)(height - h) + 1), _random.Next((int)(width - w) + 1), h, w);
        }
        return (0, 0, (int)height, (int)width);
    }
}

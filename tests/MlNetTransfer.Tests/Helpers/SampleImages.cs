using Microsoft.ML.Data;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>data-samples/fashion-mnist as engine datasets: PNGs decoded by ML.NET, resized to a square side.</summary>
internal static class SampleImages
{
    public static ImageTensorDataset Load(string split, int side)
    {
        using var hold = HeldTensors.Begin(); // the chains' temporaries, held while libtorch reads them
        var root = Path.Combine(TestPaths.DataSamples, "fashion-mnist", split);
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var images = new List<Tensor>();
        var labels = new List<long>();
        for (int c = 0; c < classes.Count; c++)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(root, classes[c]!), "*.png").Order(StringComparer.Ordinal))
            {
                images.Add(Decode(file, side));
                labels.Add(c);
            }
        }
        return new ImageTensorDataset(cat(images, 0), tensor(labels.ToArray()), classes!);
    }

    static Tensor Decode(string file, int side)
    {
        using var image = MLImage.CreateFromFile(file);
        var pixels = image.Pixels;
        int area = image.Width * image.Height;
        var rgb = new float[3 * area];
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        for (int p = 0; p < area; p++)
            for (int c = 0; c < 3; c++)
                rgb[c * area + p] = pixels[4 * p + (bgra ? 2 - c : c)];
        using var x = tensor(rgb).view(1, 3, image.Height, image.Width);
        using var resized = nn.functional.interpolate(x, size: [side, side], mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.round().Clamped(0, 255).to_type(ScalarType.Byte);
    }
}

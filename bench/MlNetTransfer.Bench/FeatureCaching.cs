using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Bench;

/// <summary>The training loop's frozen-feature cache, timed through <see cref="FineTuner"/> directly: head-only
/// epochs, augmentation off, so epoch 1 runs the backbone once and later epochs run the classifier alone.</summary>
public static class FeatureCaching
{
    public static double[] EpochSeconds(string architectureName, int side, int batch, string root, IReadOnlyList<ImageRow> rows, int epochs, Device device)
    {
        var architecture = ArchitectureRegistry.Get(architectureName);
        var classes = rows.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal).ToList();
        random.manual_seed(1);
        using var model = architecture.Create(classes.Count);
        using var data = Decode(root, rows, classes, side);
        var seconds = new List<double>();
        var context = new TrainingContext { Device = device, Progress = new Recorder(p => { if (p.IsEpochEnd) seconds.Add(data.Count / p.ImagesPerSecond); }) };
        FineTuner.Fit(model, StrategyPlan.For(architecture, FineTuneStrategy.HeadOnly), Preprocessing.Unit(side), data, null,
            new FineTuneOptions { Architecture = architectureName, Epochs = epochs, BatchSize = batch, Augment = false, ValidationFraction = 0, EarlyStoppingPatience = 0 },
            context);
        return seconds.ToArray();
    }

    static ImageTensorDataset Decode(string root, IReadOnlyList<ImageRow> rows, List<string> classes, int side)
    {
        var images = new List<Tensor>();
        foreach (var row in rows)
        {
            using var image = Microsoft.ML.Data.MLImage.CreateFromFile(Path.Combine(root, row.ImagePath));
            var pixels = image.Pixels;
            int area = image.Width * image.Height;
            var rgb = new float[3 * area];
            bool bgra = image.PixelFormat == Microsoft.ML.Data.MLPixelFormat.Bgra32;
            for (int p = 0; p < area; p++)
                for (int c = 0; c < 3; c++) rgb[c * area + p] = pixels[4 * p + (bgra ? 2 - c : c)];
            using var x = tensor(rgb).view(1, 3, image.Height, image.Width);
            using var resized = nn.functional.interpolate(x, size: [side, side], mode: InterpolationMode.Bilinear, align_corners: false);
            images.Add(resized.round().Clamped(0, 255).to_type(ScalarType.Byte));
        }
        return new ImageTensorDataset(cat(images, 0), tensor(rows.Select(r => (long)classes.IndexOf(r.Label)).ToArray()), classes);
    }

    sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

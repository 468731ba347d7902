using MlNetTransfer.Engine.Explain;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using SkiaSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>Grad-CAM for a fitted step: the trained network rebuilt on demand from the step's own ONNX model, which
/// says what it is (architecture, classes, preprocessing at the trained side) and holds the weights by state_dict name,
/// so nothing else is kept; images decoded as training decodes them (upright, scaled) and resized to that side.</summary>
internal static class ModelHeatmaps
{
    const int Batch = 16;

    /// <summary>One map per image ([h, w] at the last convolutional stage's resolution, largest value 1) for the class
    /// at the same position; null for an image that cannot be read.</summary>
    public static IReadOnlyList<float[,]?> Compute(string onnxPath, IReadOnlyList<string> paths, IReadOnlyList<int> classes, long maxPixels) =>
        Compute(OnnxGraph.Load(onnxPath), onnxPath, paths, classes, maxPixels);

    /// <summary>The same from the step's ONNX model <paramref name="graph"/>, read from <paramref name="source"/> (a file
    /// or a model zip, which errors name); <paramref name="progress"/> counts the images done.</summary>
    public static IReadOnlyList<float[,]?> Compute(OnnxGraph graph, string source, IReadOnlyList<string> paths, IReadOnlyList<int> classes, long maxPixels,
        PhaseProgress? progress = null)
    {
        if (paths.Count != classes.Count) throw new ArgumentException($"{paths.Count} images and {classes.Count} classes: one class per image");
        using var held = HeldTensors.Begin();
        using var network = OnnxNetwork.Rebuild(graph, source);
        int classCount = network.Metadata.ClassNames.Count;
        if (classes.Any(c => c < 0 || c >= classCount))
            throw new ArgumentOutOfRangeException(nameof(classes),
                $"{source} has {classCount} classes, numbered 0 to {classCount - 1} in Score's order, not {classes.First(c => c < 0 || c >= classCount)}");
        if (progress != null) progress.Total = paths.Count;
        var preprocessing = network.Metadata.Preprocessing;
        int side = preprocessing.InputSize;
        var maps = new float[,]?[paths.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        // a batch at a time, decoded on every core: what is held is one batch's pixels, whatever the number of images
        foreach (var batch in Enumerable.Range(0, paths.Count).Chunk(Batch))
        {
            var pixels = new byte[]?[batch.Length];
            Parallel.For(0, batch.Length, parallel, k => pixels[k] = Pixels(paths[batch[k]], side, maxPixels));
            var chunk = batch.Select((index, k) => (Index: index, Pixels: pixels[k]!)).Where(p => p.Pixels != null).ToArray();
            if (chunk.Length > 0) Draw(network, preprocessing, side, chunk, classes, maps);
            progress?.Advance(batch.Length);
        }
        return maps;
    }

    /// <summary>The maps of one batch of decoded images, into <paramref name="maps"/> at their indices.</summary>
    static void Draw(OnnxNetwork network, Preprocessing preprocessing, int side, (int Index, byte[] Pixels)[] chunk, IReadOnlyList<int> classes,
        float[,]?[] maps)
    {
        using var scope = NewDisposeScope();
        var images = stack(chunk.Select(p => tensor(p.Pixels).view(3, side, side)).ToArray());
        var found = GradCam.Maps(network.Model, network.Architecture, preprocessing, images, chunk.Select(p => classes[p.Index]).ToList());
        long h = found.shape[1], w = found.shape[2];
        var values = found.data<float>().ToArray();
        for (int k = 0; k < chunk.Length; k++)
        {
            var map = new float[h, w];
            Buffer.BlockCopy(values, (int)(k * h * w * sizeof(float)), map, 0, (int)(h * w * sizeof(float)));
            maps[chunk[k].Index] = map;
        }
    }

    /// <summary>The image as the network reads it: RGB planes of <paramref name="side"/>², or null when it cannot be read.</summary>
    static byte[]? Pixels(string path, int side, long maxPixels)
    {
        using var decoded = Imaging.ImageDecoder.Decode(path, side, maxPixels);
        if (decoded.Bitmap == null) return null;
        using var square = decoded.Bitmap.Resize(new SKImageInfo(side, side, SKColorType.Bgra8888, SKAlphaType.Unpremul), SKFilterQuality.Medium);
        if (square == null) return null;
        var bgra = Imaging.BitmapPixels.Of(square);
        var rgb = new byte[3 * side * side];
        int area = side * side;
        for (int p = 0; p < area; p++)
        {
            rgb[p] = bgra[4 * p + 2];
            rgb[area + p] = bgra[4 * p + 1];
            rgb[2 * area + p] = bgra[4 * p];
        }
        return rgb;
    }
}

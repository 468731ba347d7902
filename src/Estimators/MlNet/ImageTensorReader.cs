using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Training;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>Reads labelled images from an IDataView into the engine's compact tensors. Rows with a missing label
/// (key 0) or an image that fails to load are skipped and reported, not fatal; no usable row is an error.</summary>
internal static class ImageTensorReader
{
    public sealed record Result(ImageTensorDataset Data, int Skipped, IReadOnlyList<string> Problems);

    public static Result Read(MLContext mlContext, IDataView data, string imageColumn, string labelColumn, string[] classNames, int side)
    {
        var pixels = ImageColumns.Preprocess(mlContext, imageColumn, side).Fit(data).Transform(data);
        int area = 3 * side * side;
        var bytes = new List<byte[]>();
        var labels = new List<long>();
        var problems = new List<string>();
        int skipped = 0;
        long row = 0;
        using (var cursor = pixels.GetRowCursor([pixels.Schema[ImageColumns.Pixels], pixels.Schema[labelColumn]]))
        {
            var getPixels = cursor.GetGetter<VBuffer<float>>(pixels.Schema[ImageColumns.Pixels]);
            var getLabel = cursor.GetGetter<uint>(pixels.Schema[labelColumn]);
            VBuffer<float> buffer = default;
            uint label = 0;
            while (cursor.MoveNext())
            {
                row++;
                getLabel(ref label);
                if (label == 0 || label > classNames.Length)
                {
                    skipped++;
                    if (problems.Count < 20) problems.Add($"row {row}: label missing (not one of the label column's key values)");
                    continue;
                }
                try
                {
                    getPixels(ref buffer);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
                {
                    skipped++;
                    if (problems.Count < 20) problems.Add($"row {row}: image could not be read ({e.GetBaseException().Message})");
                    continue;
                }
                var values = buffer.DenseValues().ToArray();
                if (values.Length != area)
                    throw new InvalidOperationException($"row {row}: expected {area} pixel values after resizing, got {values.Length}");
                var pixelBytes = new byte[area];
                for (int i = 0; i < area; i++) pixelBytes[i] = (byte)Math.Clamp(MathF.Round(values[i]), 0, 255);
                bytes.Add(pixelBytes);
                labels.Add(label - 1); // key k (1-based) is ONNX class index k-1: the order is the label's key order
            }
        }
        if (bytes.Count == 0)
            throw new InvalidOperationException($"No usable rows: {skipped} of {row} skipped ({string.Join("; ", problems.Take(3))}).");
        var images = tensor(bytes.SelectMany(b => b).ToArray(), [bytes.Count, 3, side, side], ScalarType.Byte);
        return new Result(new ImageTensorDataset(images, tensor(labels.ToArray()), classNames), skipped, problems);
    }
}

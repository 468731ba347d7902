using System.IO.Compression;
using MlNetTransfer.Engine.Onnx;

namespace MlNetTransfer.MlNet;

/// <summary>Reads what a model zip saved from a TransferTrain pipeline holds, without loading it into ML.NET: the
/// ONNX network and what it says about itself (architecture, class names in Score order, preprocessing).</summary>
public static class TransferModelFile
{
    /// <summary>The ONNX network inside the zip (OnnxTransformer stores it as a length-prefixed byte array).
    /// Throws <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> naming the file.</summary>
    public static byte[] ReadOnnx(string zipPath)
    {
        if (!File.Exists(zipPath)) throw new FileNotFoundException($"Model {zipPath} does not exist.", zipPath);
        try
        {
            using var zip = ZipFile.OpenRead(zipPath);
            var entries = zip.Entries.Where(e => e.Name == "OnnxModel").ToList();
            if (entries.Count != 1)
                throw new InvalidDataException($"{zipPath} holds {entries.Count} ONNX models; expected the one a TransferTrain step saves.");
            using var stream = entries[0].Open();
            using var reader = new BinaryReader(stream);
            int length = reader.ReadInt32();
            var bytes = reader.ReadBytes(length);
            if (bytes.Length != length) throw new InvalidDataException($"{zipPath}: the ONNX model is truncated.");
            return bytes;
        }
        catch (InvalidDataException e) when (!e.Message.Contains(zipPath))
        {
            throw new InvalidDataException($"{zipPath} is not an ML.NET model zip: {e.Message}", e);
        }
    }

    /// <summary>Architecture, class names (in Score slot order) and preprocessing of the model in the zip.</summary>
    public static OnnxMetadata ReadMetadata(string zipPath) => OnnxMetadata.Read(OnnxGraph.Parse(ReadOnnx(zipPath), metadataOnly: true), zipPath);

    /// <summary>Where the saved model's network looks (Grad-CAM on its last convolutional stage) in each image file for
    /// the class at the same position (an index in Score's order: <see cref="ReadMetadata"/>'s class names), as
    /// <see cref="TransferTrainTransformer.Heatmaps"/> gives it for the step that was fitted: one map per image, [h, w]
    /// at that stage's resolution, largest value 1; null for an image that cannot be read. The network is rebuilt in
    /// TorchSharp from the zip's ONNX model; images are decoded as training decodes them (upright, scaled).
    /// <paramref name="progress"/> counts the images as they are done.</summary>
    public static IReadOnlyList<float[,]?> Heatmaps(string zipPath, IReadOnlyList<string> imagePaths, IReadOnlyList<int> classes,
        long maxPixels = Imaging.ImageDecoder.DefaultMaxPixels, Engine.Training.PhaseProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(classes);
        return ModelHeatmaps.Compute(OnnxGraph.Parse(ReadOnnx(zipPath)), zipPath, imagePaths, classes, maxPixels, progress);
    }
}

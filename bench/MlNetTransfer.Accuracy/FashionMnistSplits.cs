using System.IO.Compression;
using SkiaSharp;

namespace MlNetTransfer.Accuracy;

/// <summary>
/// Fashion-MNIST splits from Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist): a stratified
/// training draw of N images from the official train split (the same N/10 per class, fixed seed) and a stratified
/// 1 000 images from the official test split, written once as 28×28 grayscale PNGs in class folders and reused.
/// </summary>
public static class FashionMnistSplits
{
    public const string Source = "/usr/share/datasets/fashion-mnist";
    static readonly string[] Classes = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"];

    public static ImageSplit Prepare(string dataRoot, int trainImages, int testImages, int seed)
    {
        var root = Path.Combine(dataRoot, "fashion-mnist");
        var train = Write(Path.Combine(root, $"train-{trainImages}-seed{seed}"), "train", trainImages, seed);
        var test = Write(Path.Combine(root, $"test-{testImages}-seed{seed}"), "t10k", testImages, seed);
        return new ImageSplit("fashion-mnist", $"{trainImages}", train, test, trainImages, testImages,
            $"{trainImages / Classes.Length} per class drawn with seed {seed} from the official train split; " +
            $"{testImages / Classes.Length} per class from the official test split");
    }

    static string Write(string folder, string prefix, int count, int seed)
    {
        if (File.Exists(Path.Combine(folder, ".complete"))) return folder; // written before (or carried here)
        if (!File.Exists(Path.Combine(Source, "train-images-idx3-ubyte.gz")))
            throw new FileNotFoundException($"{Source}: Fashion-MNIST not found; apt-get install dataset-fashion-mnist");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var images = ReadIdx(Path.Combine(Source, $"{prefix}-images-idx3-ubyte.gz"));
        var labels = ReadIdx(Path.Combine(Source, $"{prefix}-labels-idx1-ubyte.gz"));
        var random = new Random(seed);
        int perClass = count / Classes.Length;
        for (int c = 0; c < Classes.Length; c++)
        {
            var records = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray();
            random.Shuffle(records);
            var classFolder = Directory.CreateDirectory(Path.Combine(folder, Classes[c])).FullName;
            foreach (var record in records.Take(perClass))
                File.WriteAllBytes(Path.Combine(classFolder, $"{prefix}-{record:D5}.png"), GrayPng(images.AsSpan(record * 784, 784)));
        }
        File.WriteAllText(Path.Combine(folder, ".complete"), "");
        return folder;
    }

    static byte[] ReadIdx(string path)
    {
        using var stream = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var bytes = memory.ToArray();
        return bytes[(4 + 4 * bytes[3])..]; // big-endian magic (0 0 type dims), one int per dimension, then the data
    }

    static byte[] GrayPng(ReadOnlySpan<byte> pixels)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(pixels.ToArray(), 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

using System.IO.Compression;
using Microsoft.ML.Data;

namespace MlNetTransfer.Tests;

/// <summary>data-samples/fashion-mnist: the layout the README and later tests rely on, readable by ML.NET, and
/// traceable pixel for pixel to Debian's dataset-fashion-mnist.</summary>
public class DataSamplesTests
{
    static readonly string Root = Path.Combine(TestPaths.DataSamples, "fashion-mnist");
    static readonly string[] Classes = ["Ankle_boot", "Bag", "Coat", "Dress", "Pullover", "Sandal", "Shirt", "Sneaker", "T-shirt_top", "Trouser"];
    const string IdxFolder = "/usr/share/datasets/fashion-mnist";

    [Theory]
    [InlineData("train", 40)]
    [InlineData("test", 10)]
    public void Each_split_has_one_folder_per_class_with_the_stated_number_of_pngs(string split, int perClass)
    {
        var folders = Directory.GetDirectories(Path.Combine(Root, split)).Select(Path.GetFileName).Order().ToArray();

        Assert.Equal(Classes, folders);
        foreach (var folder in folders)
            Assert.Equal(perClass, Directory.GetFiles(Path.Combine(Root, split, folder!), "*.png").Length);
    }

    [Fact]
    public void Train_csv_lists_exactly_the_train_images_with_their_folder_as_target()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "train.csv"));

        Assert.Equal("filename,target", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.All(rows, r => Assert.Equal(2, r.Length));
        Assert.All(rows, r => Assert.Equal(r[1], r[0].Split('/')[1]));
        var listed = rows.Select(r => Path.GetFullPath(Path.Combine(Root, r[0]))).Order();
        var onDisk = Directory.GetFiles(Path.Combine(Root, "train"), "*.png", SearchOption.AllDirectories).Select(Path.GetFullPath).Order();
        Assert.Equal(onDisk, listed);
    }

    [Fact]
    public void Every_image_decodes_with_mlnet_as_28_by_28_gray()
    {
        foreach (var file in Directory.GetFiles(Root, "*.png", SearchOption.AllDirectories))
        {
            using var image = MLImage.CreateFromFile(file);
            Assert.Equal((28, 28), (image.Width, image.Height));
            var pixels = image.Pixels;
            for (int i = 0; i < pixels.Length; i += 4) // 4 bytes a pixel, whichever channel order; gray means R = G = B
                Assert.True(pixels[i] == pixels[i + 1] && pixels[i + 1] == pixels[i + 2], $"{file} has a coloured pixel");
        }
    }

    [Fact]
    public void Every_image_equals_the_idx_record_its_name_gives()
    {
        if (!Directory.Exists(IdxFolder))
            Assert.Fail($"{IdxFolder} is missing: install Debian's dataset-fashion-mnist (.ci/run does).");
        var idx = new Dictionary<string, (byte[] Images, byte[] Labels)>
        {
            ["train"] = (Idx("train-images-idx3-ubyte.gz", 16), Idx("train-labels-idx1-ubyte.gz", 8)),
            ["t10k"] = (Idx("t10k-images-idx3-ubyte.gz", 16), Idx("t10k-labels-idx1-ubyte.gz", 8)),
        };
        string[] idxClassOrder = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"];

        foreach (var file in Directory.GetFiles(Root, "*.png", SearchOption.AllDirectories))
        {
            var name = Path.GetFileNameWithoutExtension(file).Split('-');
            var (images, labels) = idx[name[0]];
            int record = int.Parse(name[1]);
            Assert.Equal(idxClassOrder[labels[record]], Path.GetFileName(Path.GetDirectoryName(file)));
            using var image = MLImage.CreateFromFile(file);
            var pixels = image.Pixels;
            for (int p = 0; p < 28 * 28; p++)
                Assert.Equal(images[record * 784 + p], pixels[4 * p]);
        }
    }

    static byte[] Idx(string file, int headerBytes)
    {
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(IdxFolder, file)), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray()[headerBytes..];
    }
}

// Regenerates data-samples/fashion-mnist from Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist).
//
//   dotnet run data-samples/make-samples.cs [-- <idx folder> [<output folder>]]
//
// Takes the first 40 training and the first 10 test images of each class, in file order, and writes them as
// 8-bit grayscale PNGs named after their record index (train-00012.png is record 12 of train-images-idx3-ubyte), in
// one folder per class, plus train.csv (filename,target; paths relative to the CSV's folder) for the same train
// split. The output is byte-for-byte reproducible: no timestamps, fixed zlib level.
using System.IO.Compression;
using System.Text;

const int TrainPerClass = 40, TestPerClass = 10;
string[] classes = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"];

var source = args.Length > 0 ? args[0] : "/usr/share/datasets/fashion-mnist";
var output = args.Length > 1 ? args[1] : Path.Combine(Path.GetDirectoryName(AppContext.GetData("EntryPointFilePath") as string ?? ".") ?? ".", "fashion-mnist");
if (!File.Exists(Path.Combine(source, "train-images-idx3-ubyte.gz")))
{
    Console.Error.WriteLine($"error: {source}/train-images-idx3-ubyte.gz not found; install Debian's dataset-fashion-mnist or pass the folder that holds the IDX files.");
    return 2;
}

if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
var csv = new StringBuilder("filename,target\n");
foreach (var (split, prefix, perClass) in new[] { ("train", "train", TrainPerClass), ("test", "t10k", TestPerClass) })
{
    var images = ReadIdx(Path.Combine(source, $"{prefix}-images-idx3-ubyte.gz"), out var rows, out var columns);
    var labels = ReadIdx(Path.Combine(source, $"{prefix}-labels-idx1-ubyte.gz"), out _, out _);
    var taken = new int[classes.Length];
    for (int record = 0; record < labels.Length && taken.Any(t => t < perClass); record++)
    {
        int label = labels[record];
        if (taken[label]++ >= perClass) continue;
        var folder = Path.Combine(output, split, classes[label]);
        Directory.CreateDirectory(folder);
        var name = $"{prefix}-{record:D5}.png";
        File.WriteAllBytes(Path.Combine(folder, name), GrayPng(images.AsSpan(record * rows * columns, rows * columns), columns, rows));
        if (split == "train") csv.Append($"{split}/{classes[label]}/{name},{classes[label]}\n");
    }
    Console.WriteLine($"{split}: {taken.Sum(t => Math.Min(t, perClass))} images in {classes.Length} class folders");
}
File.WriteAllText(Path.Combine(output, "train.csv"), csv.ToString());
Console.WriteLine($"wrote {output}");
return 0;

// IDX (LeCun et al.): big-endian magic (0x00 0x00 type dims), big-endian dimension sizes, then the data.
static byte[] ReadIdx(string path, out int rows, out int columns)
{
    using var stream = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    var bytes = memory.ToArray();
    int dims = bytes[3];
    int BigEndian(int at) => bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3];
    rows = dims > 1 ? BigEndian(8) : 1;
    columns = dims > 2 ? BigEndian(12) : 1;
    return bytes[(4 + 4 * dims)..];
}

static byte[] GrayPng(ReadOnlySpan<byte> pixels, int width, int height)
{
    var raw = new byte[height * (width + 1)]; // each scanline: filter type 0, then the row
    for (int y = 0; y < height; y++) pixels.Slice(y * width, width).CopyTo(raw.AsSpan(y * (width + 1) + 1));
    using var compressed = new MemoryStream();
    using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true)) zlib.Write(raw);

    using var png = new MemoryStream();
    png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    var header = new byte[13];
    WriteBigEndian(header, 0, (uint)width);
    WriteBigEndian(header, 4, (uint)height);
    header[8] = 8; // bit depth
    header[9] = 0; // colour type: grayscale
    Chunk(png, "IHDR", header);
    Chunk(png, "IDAT", compressed.ToArray());
    Chunk(png, "IEND", []);
    return png.ToArray();
}

static void Chunk(Stream png, string type, byte[] data)
{
    var length = new byte[4];
    WriteBigEndian(length, 0, (uint)data.Length);
    png.Write(length);
    var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
    png.Write(typed);
    var crc = new byte[4];
    WriteBigEndian(crc, 0, Crc32(typed));
    png.Write(crc);
}

static uint Crc32(byte[] data)
{
    uint crc = 0xffffffff;
    foreach (var b in data)
    {
        crc ^= b;
        for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xedb88320 ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

static void WriteBigEndian(byte[] buffer, int at, uint value)
{
    buffer[at] = (byte)(value >> 24); buffer[at + 1] = (byte)(value >> 16); buffer[at + 2] = (byte)(value >> 8); buffer[at + 3] = (byte)value;
}

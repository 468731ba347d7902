using System.Diagnostics;
using MlNetTransfer.Imaging;
using SkiaSharp;
var files = Directory.GetFiles(args[0], "*.jpg", SearchOption.AllDirectories).Order().Take(int.Parse(args[1])).ToList();
foreach (var f in files) File.ReadAllBytes(f);
for (int round = 0; round < 2; round++)
{
    var sw = Stopwatch.StartNew();
    foreach (var f in files)
    {
        using var codec = SKCodec.Create(f);
        var size = codec.GetScaledDimensions(0.125f);
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        if (codec.GetPixels(info, bitmap.GetPixels()) != SKCodecResult.Success) throw new Exception(f);
    }
    double raw = sw.Elapsed.TotalMilliseconds / files.Count;
    sw.Restart();
    foreach (var f in files) using (var d = ImageDecoder.Decode(f, 224)) if (d.Bitmap == null) throw new Exception(d.Problem);
    double ours = sw.Elapsed.TotalMilliseconds / files.Count;
    sw.Restart();
    foreach (var f in files) { using var s = File.OpenRead(f); using var codec = SKCodec.Create(s); var _ = codec.Info; }
    double header = sw.Elapsed.TotalMilliseconds / files.Count;
    Console.WriteLine($"1 thread: skia 1/8 decode {raw:0.00} ms, ImageDecoder.Decode {ours:0.00} ms, SKCodec.Create {header:0.00} ms");
}

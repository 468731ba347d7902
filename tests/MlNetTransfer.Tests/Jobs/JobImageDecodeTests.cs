using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>The torchrun job's loader (recipe_parts.py's Images) sees the pixels train sees for a picture with
/// transparency: premultiplied, so a transparent background is black whatever colour the file stores under it (Pillow's
/// convert("RGB") kept that colour: on the icon benchmark's training PNGs, 10.9 levels off on average, 72 of 200 more
/// than 5, whole white backgrounds where train sees black); a file it cannot decode stops it with the file named.</summary>
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class JobImageDecodeTests
{
    static readonly string Parts = Path.Combine(TestPaths.RepositoryRoot, "src", "Engine", "Jobs");

    /// <summary>The job loader's [3, side, side] bytes for <paramref name="path"/>, as R, G, B planes.</summary>
    static byte[] JobPixels(string path, int side)
    {
        var code = $"import recipe_parts, sys; x, _ = recipe_parts.Images([({Quote(Path.GetFileName(path))}, 0)], {Quote(Path.GetDirectoryName(path)!)}, {side})[0]; " +
                   "sys.stdout.write(bytes(x.contiguous().view(-1).tolist()).hex())";
        var (exit, output) = PyTorchProcess.Code(code, Parts);
        Assert.True(exit == 0, output);
        return Convert.FromHexString(output.Trim());
    }

    static string Quote(string text) => "'" + text.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>Train's decode of <paramref name="path"/> as R, G, B planes (no resize: the picture is the side).</summary>
    static byte[] TrainPixels(string path, int side)
    {
        using var decoded = ImageDecoder.Decode(path, side);
        var bgra = decoded.Bitmap!.Bytes;
        Assert.Equal((side, side), (decoded.Bitmap.Width, decoded.Bitmap.Height));
        var planes = new byte[3 * side * side];
        for (int i = 0; i < side * side; i++)
            for (int c = 0; c < 3; c++) planes[c * side * side + i] = bgra[i * 4 + 2 - c];
        return planes;
    }

    [Fact]
    public void A_file_the_job_cannot_decode_stops_it_with_the_files_name()
    {
        using var folder = new TempDirectory();
        File.WriteAllBytes(folder.File("skips.bmp"), HostileImages.Bmp(16, 16, pixelsAt: 0xFF80_0036));

        var (exit, output) = PyTorchProcess.Code($"import recipe_parts; recipe_parts.Images([('skips.bmp', 0)], {Quote(folder.Path)}, 16)[0]", Parts);

        Assert.NotEqual(0, exit);
        Assert.Contains("images.csv: skips.bmp cannot be decoded (OSError: ", output); // Pillow's own message names no file
    }

    [Fact]
    public void A_transparent_picture_reaches_the_job_premultiplied_as_train_decodes_it()
    {
        using var folder = new TempDirectory();
        // a cut-out as icons and product photos come: a white background made transparent, a shape with soft edges
        using var bitmap = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(new SKColor(255, 255, 255, 0));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = new SKColor(200, 60, 30, 180), IsAntialias = true })
            canvas.DrawCircle(30, 34, 20, paint);
        var path = EncodedImages.Save(bitmap, folder.File("cut-out.png"), SKEncodedImageFormat.Png);

        var job = JobPixels(path, 64);
        var train = TrainPixels(path, 64);

        Assert.Equal(train.Length, job.Length);
        Assert.Equal(0, job[0]); // the corner, transparent white: black, as train and the served model see it
        Assert.True(job.Zip(train).All(p => Math.Abs(p.First - p.Second) <= 1),
            $"largest difference {job.Zip(train).Max(p => Math.Abs(p.First - p.Second))}");
    }
}

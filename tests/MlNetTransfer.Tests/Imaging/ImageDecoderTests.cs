using Microsoft.ML;
using MlNetTransfer.Imaging;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>The one decode training and scoring share: the pixels ML.NET's LoadImages gives wherever no scaling or
/// turning applies (so training on small images is unchanged), JPEGs at the smallest DCT scale that covers the side,
/// every EXIF orientation shown upright, and an image over the pixel limit refused from its header.</summary>
public class ImageDecoderTests
{
    public ImageDecoderTests() => TorchRuntime.EnsureLoaded();

    /// <summary>A picture with a different colour in each of its 4 × 3 blocks, so any turn or mirror shows.</summary>
    static SKBitmap Blocks(int width, int height, bool alpha = false)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, alpha ? SKAlphaType.Premul : SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        for (int bx = 0; bx < 4; bx++)
            for (int by = 0; by < 3; by++)
            {
                using var paint = new SKPaint { Color = new SKColor((byte)(40 + 60 * bx), (byte)(30 + 90 * by), (byte)(200 - 40 * bx), alpha ? (byte)(100 + 50 * by) : (byte)255) };
                canvas.DrawRect(bx * width / 4f, by * height / 3f, width / 4f, height / 3f, paint);
            }
        using var dots = new SKPaint { Color = SKColors.White };
        canvas.DrawCircle(width * 0.3f, height * 0.6f, Math.Min(width, height) / 9f, dots); // detail for the resize to work on
        return bitmap;
    }

    static string Save(SKBitmap bitmap, string path, SKEncodedImageFormat format, int quality = 95) =>
        EncodedImages.Save(bitmap, path, format, quality);

    [Fact]
    public void Images_that_need_no_scaling_give_training_records_identical_to_ml_nets_load_images()
    {
        using var folder = new TempDirectory();
        var rows = ImageRow.Samples("train", perClass: 2); // 28 px grey PNGs, upsampled
        using (var colour = Blocks(90, 60, alpha: true)) rows.Add(new ImageRow { ImagePath = Save(colour, folder.File("alpha.png"), SKEncodedImageFormat.Png), Label = rows[0].Label });
        using (var colour = Blocks(150, 120)) rows.Add(new ImageRow { ImagePath = Save(colour, folder.File("big.png"), SKEncodedImageFormat.Png), Label = rows[1].Label }); // downsampled by ML.NET alone: under twice the side
        using (var colour = Blocks(100, 80)) rows.Add(new ImageRow { ImagePath = Save(colour, folder.File("small.jpg"), SKEncodedImageFormat.Jpeg), Label = rows[2].Label }); // 1/2 would not cover 64
        using (var colour = Blocks(70, 90)) rows.Add(new ImageRow { ImagePath = Save(colour, folder.File("tall.webp"), SKEncodedImageFormat.Webp, 90), Label = rows[3].Label });
        foreach (var row in rows.Where(r => !Path.IsPathRooted(r.ImagePath))) row.ImagePath = Path.Combine(ImageRow.Root, row.ImagePath);
        var ml = new MLContext(seed: 1) { TempFilePath = folder.Path };
        var view = ml.Data.LoadFromEnumerable(rows);
        var data = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoadImages("Image", null, "ImagePath")).Fit(view).Transform(view);
        var classes = rows.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal).ToArray();

        using var byMlNet = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 64).Data;
        using var byDecoder = ImageTensorReader.Read(ml, data, "Image", "Label", classes, 64, new ImageFiles("ImagePath", null)).Data;

        Assert.Equal(rows.Count, byDecoder.Count);
        using var expected = byMlNet.ReadAll();
        using var actual = byDecoder.ReadAll();
        var differing = Enumerable.Range(0, rows.Count).Where(i => !expected[i].eq(actual[i]).all().item<bool>())
            .Select(i => $"{rows[i].ImagePath} ({(expected[i].to_type(TorchSharp.torch.ScalarType.Int32) - actual[i].to_type(TorchSharp.torch.ScalarType.Int32)).abs().max().item<int>()} at most)").ToList();
        Assert.True(differing.Count == 0, "every record byte for byte as ML.NET's LoadImages + ResizeImages + ExtractPixels; not: " + string.Join(", ", differing));
    }

    [Theory]
    [InlineData(224, 500, 375)] // 1/4 would be 250 × 188: short of 224
    [InlineData(64, 125, 94)]   // 1/8
    [InlineData(400, 1000, 750)] // 1/2 would be 375: in full
    public void Every_format_decodes_at_the_size_a_jpegs_dct_scaling_gives(int side, int width, int height)
    {
        using var folder = new TempDirectory();
        using var picture = Blocks(1000, 750);
        var jpeg = Save(picture, folder.File("photo.jpg"), SKEncodedImageFormat.Jpeg);
        var png = Save(picture, folder.File("photo.png"), SKEncodedImageFormat.Png);
        var webp = Save(picture, folder.File("photo.webp"), SKEncodedImageFormat.Webp, 100);

        using var fromJpeg = ImageDecoder.Decode(jpeg, side);
        using var fromPng = ImageDecoder.Decode(png, side);
        using var fromWebp = ImageDecoder.Decode(webp, side);

        Assert.Equal((width, height), (fromJpeg.Bitmap!.Width, fromJpeg.Bitmap.Height));
        Assert.Equal((width, height), (fromPng.Bitmap!.Width, fromPng.Bitmap.Height));   // box means of the whole decode
        Assert.Equal((width, height), (fromWebp.Bitmap!.Width, fromWebp.Bitmap.Height)); // libwebp's scaler
        int factor = 1000 / width;
        if (factor > 1)
        {
            using var whole = SKBitmap.Decode(png);
            using var boxes = BoxReduction.Reduce(whole, factor);
            Assert.Equal(boxes.Bytes, fromPng.Bitmap.Bytes);
        }
        Assert.InRange(MeanDifference(fromPng.Bitmap, fromWebp.Bitmap), 0, 1.5);  // the same picture by two paths
        Assert.InRange(MeanDifference(fromPng.Bitmap, fromJpeg.Bitmap), 0, 4);    // and the JPEG's losses
    }

    [Fact]
    public void A_jpeg_that_one_eighth_leaves_twice_the_side_or_more_is_reduced_further()
    {
        using var folder = new TempDirectory();
        using var picture = Blocks(2400, 1800);
        var jpeg = Save(picture, folder.File("photo.jpg"), SKEncodedImageFormat.Jpeg);

        using var decoded = ImageDecoder.Decode(jpeg, 56); // 1/8 is 300 × 225, 2 × 2 boxes 150 × 113, 4 × 4 75 × 57
        using var codec = SKCodec.Create(jpeg);
        var plan = DecodePlan.For(codec, 56, 0);

        Assert.Equal((300, 225, 4), (plan.Decoded.Width, plan.Decoded.Height, plan.ReduceBy));
        Assert.Equal((75, 57), (decoded.Bitmap!.Width, decoded.Bitmap.Height));
    }

    static double MeanDifference(SKBitmap a, SKBitmap b) =>
        a.Bytes.Zip(b.Bytes, (x, y) => Math.Abs(x - y)).Average();

    [Theory]
    [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)] [InlineData(6)] [InlineData(7)] [InlineData(8)]
    public void Every_exif_orientation_is_decoded_upright(int orientation)
    {
        using var folder = new TempDirectory();
        using var upright = Blocks(120, 90);
        // stored as a camera stores it: the inverse of what the tag asks viewers to do
        using var stored = Inverse(upright, (SKEncodedOrigin)orientation);
        var path = TurnedJpegs.Save(stored, folder.File("turned.jpg"), orientation);

        var (header, _) = ImageDecoder.ReadHeader(path);
        using var decoded = ImageDecoder.Decode(path, 90); // no DCT scaling: the whole picture

        Assert.True(header!.Turned);
        Assert.Equal((120, 90), header.Upright);
        Assert.Equal((120, 90), (decoded.Bitmap!.Width, decoded.Bitmap.Height));
        foreach (var (x, y) in new[] { (15, 15), (105, 15), (15, 75), (105, 75), (45, 45), (75, 45) })
        {
            var want = upright.GetPixel(x, y);
            var got = decoded.Bitmap.GetPixel(x, y);
            Assert.True(Math.Abs(want.Red - got.Red) + Math.Abs(want.Green - got.Green) + Math.Abs(want.Blue - got.Blue) < 24,
                $"orientation {orientation} at ({x},{y}): upright {want}, decoded {got}");
        }
    }

    /// <summary>What a camera stores for an upright picture it tags with <paramref name="origin"/>.</summary>
    static SKBitmap Inverse(SKBitmap upright, SKEncodedOrigin origin)
    {
        // the tag's transform applied to the stored picture gives the upright one; for the quarter turns (6, 8) the
        // inverse is the other quarter turn, every other orientation is its own inverse
        var inverse = origin switch { SKEncodedOrigin.RightTop => SKEncodedOrigin.LeftBottom, SKEncodedOrigin.LeftBottom => SKEncodedOrigin.RightTop, _ => origin };
        return Orientation.Upright(upright, inverse);
    }

    [Fact]
    public void An_image_whose_header_claims_more_pixels_than_the_limit_is_refused_before_decoding()
    {
        using var folder = new TempDirectory();
        var bomb = folder.File("bomb.png");
        File.WriteAllBytes(bomb, HostileImages.PngHeaderOnly(50_000, 50_000));
        using var small = Blocks(100, 100);
        var ordinary = Save(small, folder.File("small.png"), SKEncodedImageFormat.Png);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        using var refused = ImageDecoder.Decode(bomb, 224);
        var (header, problem) = ImageDecoder.ReadHeader(bomb);

        Assert.True(new FileInfo(bomb).Length < 200);
        Assert.Null(refused.Bitmap);
        Assert.Null(header);
        Assert.Contains("50000×50000 pixels (2500 megapixels) is over the limit of 179 megapixels", refused.Problem);
        Assert.Equal(refused.Problem, problem);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "nothing the size of the claim was allocated (on this thread: tests running beside it allocate too)");
        using var limited = ImageDecoder.Decode(ordinary, 64, maxPixels: 5_000);
        Assert.Contains("100×100 pixels", limited.Problem);
        using var allowed = ImageDecoder.Decode(ordinary, 64, maxPixels: 10_000);
        Assert.NotNull(allowed.Bitmap);
    }
}

using Microsoft.ML.Data;
using MlNetTransfer.Imaging;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;
using SkiaSharp;
using WebApi;

namespace MlNetTransfer.Tests;

/// <summary>Images from memory decoded for TransferTrain's rows: at full size the pixels ML.NET's
/// MLImage.CreateFromStream gives (upright), at the model's side the pixels the generated web API serves, and an
/// untrusted upload that would end the process or take gigabytes through CreateFromStream refused with the reason.</summary>
public class ImageBytesTests
{
    public ImageBytesTests() => TorchRuntime.EnsureLoaded();

    static SKBitmap Picture(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [SKColors.Navy, SKColors.Orange, SKColors.Teal.WithAlpha(140)], SKShaderTileMode.Clamp);
        using var paint = new SKPaint { Shader = shader };
        canvas.DrawRect(0, 0, width, height, paint);
        return bitmap;
    }

    static byte[] Encoded(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return data.ToArray();
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    [InlineData("webp")]
    [InlineData("bmp")]
    public void At_full_size_the_pixels_are_ml_nets_own(string format)
    {
        using var picture = Picture(300, 200);
        var bytes = format switch
        {
            "png" => Encoded(picture, SKEncodedImageFormat.Png),
            "jpeg" => Encoded(picture, SKEncodedImageFormat.Jpeg),
            "webp" => Encoded(picture, SKEncodedImageFormat.Webp),
            _ => HostileImages.Bmp(300, 200),
        };

        using var ours = ImageBytes.Decode(bytes);
        using var mlNets = MLImage.CreateFromStream(new MemoryStream(bytes));

        Assert.Equal((mlNets.Width, mlNets.Height, mlNets.PixelFormat), (ours.Width, ours.Height, ours.PixelFormat));
        Assert.True(ours.Pixels.SequenceEqual(mlNets.Pixels), $"{format}: the pixels differ from MLImage.CreateFromStream's");
    }

    [Fact]
    public void A_turned_phone_photo_comes_upright_and_at_the_models_side_as_the_web_api_serves_it()
    {
        using var folder = new TempDirectory();
        using var picture = Picture(2400, 1800);
        var bytes = File.ReadAllBytes(TurnedJpegs.Save(picture, folder.File("turned.jpg"), 6, quality: 90)); // stored 2400 × 1800, shown turned a quarter

        using var whole = ImageBytes.Decode(bytes);
        using var stored = MLImage.CreateFromStream(new MemoryStream(bytes));
        using var forTheModel = ImageBytes.Decode(bytes, side: 56);
        using var served = new ImageDecoding(56, ImageDecoder.DefaultMaxPixels).Load(bytes);

        Assert.Equal((stored.Height, stored.Width), (whole.Width, whole.Height)); // upright: the stored sides swapped
        Assert.Equal((1800, 2400), (whole.Width, whole.Height));
        Assert.Equal((served.Width, served.Height), (forTheModel.Width, forTheModel.Height));
        Assert.InRange(Math.Min(forTheModel.Width, forTheModel.Height), 56, 111); // the shorter side between the side and twice it
        Assert.True(forTheModel.Pixels.SequenceEqual(served.Pixels), "the pixels differ from the web API's");
    }

    [Fact]
    public void An_untrusted_upload_that_lies_is_refused_with_the_reason_at_no_cost()
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var skip = Assert.Throws<InvalidDataException>(() => ImageBytes.Decode(HostileImages.Bmp(32, 24, pixelsAt: 0xFF80_0036)));
        var bomb = Assert.Throws<InvalidDataException>(() => ImageBytes.Decode(HostileImages.PngHeaderOnly(50_000, 50_000)));
        var text = Assert.Throws<InvalidDataException>(() => ImageBytes.Decode("not an image"u8.ToArray()));

        Assert.StartsWith("the image (", skip.Message);
        Assert.Contains("not a readable image", skip.Message);
        Assert.Contains("50000×50000 pixels (2500 megapixels) is over the limit of 179 megapixels", bomb.Message);
        Assert.Contains("not a readable image", text.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 16 << 20, "nothing the size of a claim was allocated");
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageBytes.Decode([1, 2, 3], side: 0));
    }
}

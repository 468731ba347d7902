using MlNetTransfer.Imaging;
using SkiaSharp;
using WebApi;
using DecodeBudget = WebApi.DecodeBudget;

namespace MlNetTransfer.Tests;

/// <summary>The decoding class the generated apps serve with (templates/WebApi/ImageDecoding.cs, which Consume.cs
/// embeds) gives the pixels training's decoder gives, for every path a file can take — reduced by boxes, scaled by
/// libwebp or by libjpeg and then boxes, turned, or as stored — and the web API's budget counts what each decode
/// holds, so that a burst of small uploads claiming large pictures waits instead of taking the server's memory.</summary>
public class ServingDecodeTests
{
    static SKBitmap Picture(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [SKColors.Navy, SKColors.Orange, SKColors.Teal], SKShaderTileMode.Clamp);
        using var paint = new SKPaint { Shader = shader };
        canvas.DrawRect(0, 0, width, height, paint);
        using var dots = new SKPaint { Color = SKColors.White };
        for (int i = 0; i < 40; i++) canvas.DrawCircle(i * 37 % width, i * 53 % height, 3 + i % 7, dots);
        return bitmap;
    }

    [Theory]
    [InlineData("large.png", 1000, 750, 0)]   // boxes of 8
    [InlineData("large.webp", 1000, 750, 0)]  // libwebp's scaler
    [InlineData("huge.jpg", 2400, 1800, 6)]   // 1/8, then boxes of 4, then a quarter turn
    [InlineData("small.png", 90, 60, 0)]      // as stored
    public void The_served_decode_gives_trainings_pixels(string name, int width, int height, int orientation)
    {
        using var folder = new TempDirectory();
        using var picture = Picture(width, height);
        var format = Path.GetExtension(name) switch { ".png" => SKEncodedImageFormat.Png, ".webp" => SKEncodedImageFormat.Webp, _ => SKEncodedImageFormat.Jpeg };
        var path = orientation == 0 ? EncodedImages.Save(picture, folder.File(name), format) : TurnedJpegs.Save(picture, folder.File(name), orientation);

        using var trained = ImageDecoder.Decode(path, 56);
        using var served = new ImageDecoding(56, ImageDecoder.DefaultMaxPixels).Load(File.ReadAllBytes(path));

        Assert.Equal((trained.Bitmap!.Width, trained.Bitmap.Height), (served.Width, served.Height));
        Assert.True(trained.Bitmap.Bytes.AsSpan().SequenceEqual(served.Pixels), $"{name}: the served pixels differ from training's");
    }

    [Fact]
    public async Task The_web_apis_budget_counts_each_decode_and_keeps_a_burst_within_it()
    {
        using var folder = new TempDirectory();
        var png = folder.File("claims-a-lot.png");
        HostileImages.WriteBlankGreyPng(png, 3000); // a few KB that decode to 36 MB
        var bytes = File.ReadAllBytes(png);
        var decoding = new ImageDecoding(64, ImageDecoder.DefaultMaxPixels);
        long needed = DecodeBudget.Needed(decoding, bytes);
        Assert.Equal(36_000_000 + 94 * 94 * 4, needed); // decoded whole, then the reduced copy
        using (var codec = SKCodec.Create(png)) Assert.Equal(DecodePlan.For(codec, 64, null).Bytes, needed); // as training counts
        var progressive = File.ReadAllBytes(TestPaths.Fixture("progressive-444.jpg"));
        Assert.Equal(JpegFrame.CoefficientBytes(progressive), DecodeBudget.Needed(decoding, progressive) - 120 * 80 * 4); // decoded whole: 1/2 is 60 × 40
        Assert.Throws<InvalidDataException>(() => DecodeBudget.Needed(decoding, "not an image"u8.ToArray()));

        var budget = new DecodeBudget(needed + needed / 2); // one at a time
        int inside = 0, most = 0;
        var gate = new object();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using (await budget.TakeAsync(needed, TestContext.Current.CancellationToken))
            {
                lock (gate) most = Math.Max(most, ++inside);
                using var image = decoding.Load(bytes);
                Assert.Equal(94, image.Width); // 3000 / 32, rounded up
                await Task.Delay(30, TestContext.Current.CancellationToken);
                lock (gate) inside--;
            }
        }, TestContext.Current.CancellationToken)));
        Assert.Equal(1, most);
    }
}

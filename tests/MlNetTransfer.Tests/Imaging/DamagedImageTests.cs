using MlNetTransfer.Imaging;
using MlNetTransfer.Runtime;
using SkiaSharp;
using WebApi;

namespace MlNetTransfer.Tests;

/// <summary>Damaged and lying files against both decoders — training's (<see cref="ImageDecoder"/>) and the one the
/// generated web API and Consume.cs serve with (templates/WebApi/ImageDecoding.cs): each is a picture or a named
/// problem, never an exception that escapes, a crash of the process or an allocation the size of what a header claims.
/// Each case here once ended the process or took gigabytes: a BMP whose header puts its pixels 4 GB into the file
/// (SkiaSharp's stream wrapper threw inside Skia's callback), one that puts them 1.6 GB in (the wrapper allocated
/// 1.6 GB), a served upload over the pixel limit (the codec read after it was disposed: a segmentation fault), and a
/// progressive JPEG frame header shorter than its fields (an ArgumentOutOfRangeException out of the decoder).</summary>
public class DamagedImageTests
{
    static readonly ImageDecoding Served = new(64, ImageDecoder.DefaultMaxPixels);

    public DamagedImageTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(0x5FFF_FFF0u)] // 1.6 GB in
    [InlineData(0xFF80_0036u)] // past 4 GB
    public void A_bmp_whose_header_puts_its_pixels_gigabytes_in_is_damaged_without_a_crash_or_an_allocation_that_size(uint pixelsAt)
    {
        using var folder = new TempDirectory();
        var bytes = HostileImages.Bmp(32, 24, pixelsAt);
        var path = folder.File("skips.bmp");
        File.WriteAllBytes(path, bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        using var fromFile = ImageDecoder.Decode(path, 64);
        using var fromMemory = ImageDecoder.Decode(new MemoryStream(bytes, writable: false), 64);
        var served = Assert.Throws<InvalidDataException>(() => Served.Load(bytes));

        Assert.Null(fromFile.Bitmap);
        Assert.Equal("not a readable image (InvalidInput)", fromFile.Problem); // Skia's word for pixels the file does not hold
        Assert.Equal(fromFile.Problem, fromMemory.Problem);
        Assert.Contains("truncated or damaged image", served.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 16 << 20, "nothing the size of the skip was allocated");
        using var honest = ImageDecoder.Decode(new MemoryStream(HostileImages.Bmp(32, 24)), 64);
        Assert.Equal((32, 24), (honest.Bitmap!.Width, honest.Bitmap.Height)); // the same file, told truly, decodes
    }

    [Fact]
    public void An_upload_over_the_pixel_limit_is_refused_by_the_served_decoding_with_its_size()
    {
        var bomb = HostileImages.PngHeaderOnly(50_000, 50_000);

        var loading = Assert.Throws<InvalidDataException>(() => Served.Load(bomb));
        var budgeting = Assert.Throws<InvalidDataException>(() => WebApi.DecodeBudget.Needed(Served, bomb));

        Assert.Equal($"50000x50000 pixels: over the limit of {ImageDecoder.DefaultMaxPixels}", loading.Message);
        Assert.Equal(loading.Message, budgeting.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void A_progressive_jpeg_whose_frame_header_is_too_short_for_its_fields_is_a_named_problem(int length)
    {
        var jpeg = File.ReadAllBytes(TestPaths.Fixture("progressive-420.jpg"));
        int frame = FrameHeaderAt(jpeg);
        jpeg[frame + 2] = (byte)(length >> 8);
        jpeg[frame + 3] = (byte)length;

        using var decoded = ImageDecoder.Decode(new MemoryStream(jpeg), 64);

        Assert.Null(JpegFrame.CoefficientBytes(jpeg));
        Assert.NotNull(decoded.Problem);
        Assert.Throws<InvalidDataException>(() => Served.Load(jpeg));
        Assert.Null(JpegFrame.CoefficientBytes([0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x00])); // six bytes: all header, no fields
    }

    /// <summary>Seeded damage to real files of each format the decoders know (bits flipped, header bytes and length
    /// fields overwritten, cut short, bytes repeated): 490 files, as many outcomes as files, never an exception, and
    /// the two decoders agree on every one — what the one decodes the other decodes to the same pixels.</summary>
    [Fact]
    public void Damaged_files_of_every_format_are_a_picture_or_a_named_problem_and_both_decoders_agree()
    {
        var random = new Random(1);
        var (pictures, problems, escaped) = (0, 0, new List<string>());
        foreach (var (name, original) in Originals())
            for (int k = 0; k < 70; k++)
            {
                var bytes = Damaged(original, k % 6, random);
                var trained = Outcome(() => ImageDecoder.Decode(new MemoryStream(bytes, writable: false), 64));
                var served = Outcome(() => Served.Load(bytes));
                if ((trained.Escaped ?? served.Escaped) is { } e) { escaped.Add($"{name} #{k}: {e}"); continue; }
                Assert.True(trained.Pixels is null == served.Pixels is null, $"{name} #{k}: training {trained.Problem ?? "decodes"}, serving {served.Problem ?? "decodes"}");
                if (trained.Pixels is null) { problems++; continue; }
                Assert.True(trained.Pixels.AsSpan().SequenceEqual(served.Pixels), $"{name} #{k}: the served pixels differ from training's");
                pictures++;
            }

        Assert.Empty(escaped);
        Assert.Equal(490, pictures + problems);
        Assert.InRange(pictures, 100, 400); // the damage both leaves pictures and breaks files
    }

    static (byte[]? Pixels, string? Problem, string? Escaped) Outcome(Func<object> decode)
    {
        try
        {
            return decode() switch
            {
                DecodedImage { Bitmap: { } bitmap } d => Dispose(d, bitmap.Bytes),
                DecodedImage d => (null, d.Problem, null),
                Microsoft.ML.Data.MLImage image => Dispose(image, image.Pixels.ToArray()),
                var other => throw new InvalidOperationException(other.ToString()),
            };
        }
        catch (InvalidDataException e)
        {
            return (null, e.Message, null); // the served decoding's way of naming a problem
        }
        catch (Exception e)
        {
            return (null, null, $"{e.GetType().Name}: {e.Message}");
        }

        static (byte[]?, string?, string?) Dispose(IDisposable owner, byte[] pixels)
        {
            owner.Dispose();
            return (pixels, null, null);
        }
    }

    static IEnumerable<(string Name, byte[] Bytes)> Originals()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(96, 72, SKColorType.Bgra8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(96, 72), [SKColors.Navy, SKColors.Orange, SKColors.Teal.WithAlpha(128)], SKShaderTileMode.Clamp);
            using var paint = new SKPaint { Shader = shader };
            canvas.DrawRect(0, 0, 96, 72, paint);
        }
        using var image = SKImage.FromBitmap(bitmap);
        foreach (var (format, quality) in new[] { (SKEncodedImageFormat.Png, 100), (SKEncodedImageFormat.Jpeg, 90), (SKEncodedImageFormat.Webp, 80), (SKEncodedImageFormat.Webp, 100) })
        {
            using var data = image.Encode(format, quality);
            yield return ($"{format} {quality}", data.ToArray());
        }
        yield return ("progressive JPEG", File.ReadAllBytes(TestPaths.Fixture("progressive-420.jpg")));
        using (var folder = new TempDirectory())
            yield return ("EXIF-turned JPEG", File.ReadAllBytes(TurnedJpegs.Save(bitmap, folder.File("turned.jpg"), 6, quality: 90)));
        yield return ("BMP", HostileImages.Bmp(40, 30));
    }

    static byte[] Damaged(byte[] original, int how, Random random)
    {
        var bytes = original.ToList();
        int Near(int span) => random.Next(Math.Min(bytes.Count - 4, span));
        switch (how)
        {
            case 0: for (int n = random.Next(1, 9); n > 0; n--) { int i = random.Next(bytes.Count); bytes[i] ^= (byte)(1 << random.Next(8)); } break;
            case 1: for (int n = random.Next(1, 5); n > 0; n--) bytes[Near(96)] = (byte)random.Next(256); break;
            case 2: bytes = bytes.Take(random.Next(1, bytes.Count)).ToList(); break;
            case 3: { int i = Near(300); int v = new[] { 0, 1, 0xFFFF, 0x7FFF, 0x8000, random.Next(65536) }[random.Next(6)]; bytes[i] = (byte)(v >> 8); bytes[i + 1] = (byte)v; } break;
            case 4: { int from = random.Next(bytes.Count); bytes.InsertRange(random.Next(bytes.Count), bytes.Skip(from).Take(random.Next(1, 65)).ToList()); } break;
            default: { int i = Near(300); uint v = new uint[] { 0, uint.MaxValue, int.MaxValue, 0x8000_0000, (uint)random.Next() }[random.Next(5)]; for (int b = 0; b < 4; b++) bytes[i + b] = (byte)(v >> (8 * b)); } break;
        }
        return [.. bytes];
    }

    static int FrameHeaderAt(byte[] jpeg)
    {
        for (int i = 2; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC2) return i;
        throw new InvalidOperationException("no progressive frame header");
    }
}

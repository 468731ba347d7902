using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace WebApi;

/// <summary>Decodes images as mlnet-transfer trained the model: a JPEG at the smallest of 1/8, 1/4, 1/2 scale whose
/// shorter side covers the model's side, a WebP at any size through libwebp's scaler, other formats whole; then,
/// while the shorter side is still twice the model's side or more, halved by averaging 2 × 2 boxes; turned upright as
/// its EXIF orientation asks; at most a given number of pixels, checked from the header before decoding. Throws
/// <see cref="InvalidDataException"/> with the reason for anything that is not a whole, readable image.</summary>
public sealed class ImageDecoding(int side, long maxPixels)
{
    public int Side { get; } = side;
    public long MaxPixels { get; } = maxPixels;

    public MLImage Load(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Load(copy.ToArray());
    }

    public MLImage Load(byte[] bytes)
    {
        using var codec = Open(bytes);
        var (size, reduceBy) = Plan(codec);
        var alpha = codec.Info.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : codec.Info.AlphaType;
        using var stored = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, alpha));
        var result = codec.GetPixels(stored.Info, stored.GetPixels());
        if (result != SKCodecResult.Success) throw new InvalidDataException($"truncated or damaged image ({result})");
        using var reduced = reduceBy > 1 ? Reduce(stored, reduceBy) : null;
        using var upright = Upright(reduced ?? stored, codec.EncodedOrigin);
        return MLImage.CreateFromPixels(upright.Width, upright.Height, MLPixelFormat.Bgra32, upright.GetPixelSpan());
    }

    /// <summary>The codec for <paramref name="bytes"/>, its header checked against the pixel limit. The codec reads
    /// a copy in Skia's own memory: SkiaSharp's wrapper of a .NET stream allocates as much as a header asks it to skip
    /// (a 27 KB BMP that puts its pixels 1.6 GB in took 1.6 GB) and ends the process past 2 GB.</summary>
    public SKCodec Open(byte[] bytes)
    {
        var codec = SKCodec.Create(new SKMemoryStream(bytes)) ?? throw new InvalidDataException("not an image SkiaSharp can read (JPEG, PNG, GIF, BMP, WebP, ICO, WBMP)");
        var (width, height) = (codec.Info.Width, codec.Info.Height); // read before Dispose: a disposed codec's Info crashes the process
        if ((long)width * height > MaxPixels)
        {
            codec.Dispose();
            throw new InvalidDataException($"{width}x{height} pixels: over the limit of {MaxPixels}");
        }
        return codec;
    }

    /// <summary>The size the codec decodes at, and the power of two its pixels are then reduced by.</summary>
    public (SKSizeI Size, int ReduceBy) Plan(SKCodec codec)
    {
        var size = codec.Info.Size;
        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
            foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
                if (codec.GetScaledDimensions(scale) is var scaled && Math.Min(scaled.Width, scaled.Height) >= Side) { size = scaled; break; }
        if (codec.EncodedFormat == SKEncodedImageFormat.Webp && Factor(size) is var k && k > 1)
            size = new SKSizeI((size.Width + k - 1) / k, (size.Height + k - 1) / k);
        return (size, Factor(size));
    }

    /// <summary>The largest power of two that keeps the shorter side at Side or more, rounded up.</summary>
    int Factor(SKSizeI size)
    {
        int k = 1;
        while (((long)Math.Min(size.Width, size.Height) + 2 * k - 1) / (2 * k) >= Side) k *= 2;
        return k;
    }

    /// <summary>Each pixel the rounded mean of the k × k box it covers (boxes on the right and bottom edges averaged
    /// over the pixels they have), on premultiplied BGRA.</summary>
    static SKBitmap Reduce(SKBitmap source, int k)
    {
        int width = source.Width, height = source.Height, outWidth = (width + k - 1) / k, outHeight = (height + k - 1) / k;
        var from = source.GetPixelSpan();
        var means = new byte[outWidth * outHeight * 4];
        var columns = new uint[width * 4]; // a band of k rows summed down each column and channel
        for (int oy = 0; oy < outHeight; oy++)
        {
            Array.Clear(columns);
            int rows = Math.Min(k, height - oy * k);
            for (int y = oy * k; y < oy * k + rows; y++)
                for (int i = 0; i < columns.Length; i++) columns[i] += from[y * width * 4 + i];
            for (int ox = 0; ox < outWidth; ox++)
            {
                int boxWidth = Math.Min(k, width - ox * k);
                ulong count = (ulong)(rows * boxWidth);
                for (int c = 0; c < 4; c++)
                {
                    ulong sum = 0;
                    for (int x = ox * k; x < ox * k + boxWidth; x++) sum += columns[x * 4 + c];
                    means[(oy * outWidth + ox) * 4 + c] = (byte)((sum + count / 2) / count);
                }
            }
        }
        var reduced = new SKBitmap(new SKImageInfo(outWidth, outHeight, source.ColorType, source.AlphaType));
        System.Runtime.InteropServices.Marshal.Copy(means, 0, reduced.GetPixels(), means.Length);
        return reduced;
    }

    /// <summary>The model's steps after its LoadImages (which decodes a file at full size and as stored): it then
    /// reads the Image column this class fills.</summary>
    public static ITransformer AfterLoadImages(ITransformer model)
    {
        var steps = Steps(model).ToList();
        return new TransformerChain<ITransformer>(steps.Skip(steps.FindIndex(t => t is ImageLoadingTransformer) + 1).ToArray());
    }

    /// <summary>The model's steps in order, its chains opened.</summary>
    public static IEnumerable<ITransformer> Steps(ITransformer model) => model is IEnumerable<ITransformer> chain ? chain.SelectMany(Steps) : [model];

    static SKBitmap Upright(SKBitmap stored, SKEncodedOrigin origin)
    {
        int w = stored.Width, h = stored.Height;
        bool swap = origin >= SKEncodedOrigin.LeftTop;
        var shown = new SKBitmap(new SKImageInfo(swap ? h : w, swap ? w : h, stored.ColorType, stored.AlphaType));
        using var canvas = new SKCanvas(shown);
        canvas.SetMatrix(origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
            _ => SKMatrix.Identity,
        });
        canvas.DrawBitmap(stored, 0, 0);
        return shown;
    }
}

using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace WebApi;

/// <summary>Decodes images as mlnet-transfer trained the model: a JPEG at the smallest of 1/8, 1/4, 1/2 scale whose
/// shorter side covers the model's side, turned upright as its EXIF orientation asks; at most a given number of
/// pixels, checked from the header before decoding. Throws <see cref="InvalidDataException"/> with the reason for
/// anything that is not a whole, readable image.</summary>
public sealed class ImageDecoding(int side, long maxPixels)
{
    public int Side { get; } = side;
    public long MaxPixels { get; } = maxPixels;

    public MLImage Load(byte[] bytes) => Load(new MemoryStream(bytes, writable: false));

    public MLImage Load(Stream stream)
    {
        using var codec = SKCodec.Create(stream) ?? throw new InvalidDataException("not an image SkiaSharp can read (JPEG, PNG, GIF, BMP, WebP, ICO, WBMP)");
        var info = codec.Info;
        if ((long)info.Width * info.Height > MaxPixels)
            throw new InvalidDataException($"{info.Width}x{info.Height} pixels: over the limit of {MaxPixels}");
        var size = info.Size;
        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
            foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
                if (codec.GetScaledDimensions(scale) is var scaled && Math.Min(scaled.Width, scaled.Height) >= Side) { size = scaled; break; }
        var alpha = info.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : info.AlphaType;
        using var stored = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, alpha));
        var result = codec.GetPixels(stored.Info, stored.GetPixels());
        if (result != SKCodecResult.Success) throw new InvalidDataException($"truncated or damaged image ({result})");
        using var upright = Upright(stored, codec.EncodedOrigin);
        return MLImage.CreateFromPixels(upright.Width, upright.Height, MLPixelFormat.Bgra32, upright.GetPixelSpan());
    }

    /// <summary>The model's steps after its LoadImages (which decodes a file at full size and as stored): it then
    /// reads the Image column this class fills.</summary>
    public static ITransformer AfterLoadImages(ITransformer model)
    {
        var steps = Flatten(model).ToList();
        return new TransformerChain<ITransformer>(steps.Skip(steps.FindIndex(t => t is ImageLoadingTransformer) + 1).ToArray());
    }

    static IEnumerable<ITransformer> Flatten(ITransformer model) => model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

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

using SkiaSharp;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>A test image as the report embeds it: the picture the model scored, lossless (PNG) when it is small or
/// has transparency — a 28 px image stays pixel for pixel what the model saw — else a JPEG scaled to
/// <see cref="Side"/> on its longer side, so twelve phone photos make tens of kilobytes of page, not 80 MB.</summary>
public sealed record GalleryPicture(string Mime, byte[] Bytes)
{
    /// <summary>Twice the gallery's 140 px, for sharp pictures on high-density screens.</summary>
    public const int Side = 280;

    /// <summary>The picture of an already decoded image (upright, as scored).</summary>
    public static GalleryPicture Of(SKBitmap bitmap)
    {
        int longer = Math.Max(bitmap.Width, bitmap.Height);
        bool transparent = bitmap.AlphaType is not SKAlphaType.Opaque && HasTransparency(bitmap);
        if (longer <= Side)
        {
            using var same = SKImage.FromBitmap(bitmap);
            using var png = same.Encode(SKEncodedImageFormat.Png, 100);
            return new GalleryPicture("image/png", png.ToArray());
        }
        double scale = (double)Side / longer;
        var size = new SKImageInfo(Math.Max(1, (int)Math.Round(bitmap.Width * scale)), Math.Max(1, (int)Math.Round(bitmap.Height * scale)),
            bitmap.ColorType, bitmap.AlphaType);
        using var scaled = bitmap.Resize(size, SKFilterQuality.Medium) ?? bitmap.Copy();
        using var picture = SKImage.FromBitmap(scaled);
        using var encoded = picture.Encode(transparent ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 85);
        return new GalleryPicture(transparent ? "image/png" : "image/jpeg", encoded.ToArray());
    }

    static bool HasTransparency(SKBitmap bitmap)
    {
        var pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(bitmap.GetPixelSpan());
        foreach (var pixel in pixels)
            if (pixel >> 24 != 0xFF) return true; // BGRA: alpha is the high byte
        return false;
    }
}

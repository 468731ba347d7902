using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>Bitmaps written as image files, as SkiaSharp encodes them.</summary>
internal static class EncodedImages
{
    /// <summary>Writes <paramref name="bitmap"/> to <paramref name="path"/> as <paramref name="format"/>; returns the path.</summary>
    public static string Save(SKBitmap bitmap, string path, SKEncodedImageFormat format, int quality = 100)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}

using SkiaSharp;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>An image as the network saw it (squared to its input) with a Grad-CAM map laid over it: transparent where
/// nothing argues for the class, through yellow to red where the evidence is strongest, smoothly upscaled.</summary>
public static class HeatmapPicture
{
    /// <summary>The picture for the image at <paramref name="path"/>, decoded within <paramref name="maxPixels"/> (the
    /// limit it was scored under); null when it cannot be decoded.</summary>
    public static GalleryPicture? Of(string path, float[,] map, long maxPixels)
    {
        using var decoded = Imaging.ImageDecoder.Decode(path, GalleryPicture.Side, maxPixels);
        if (decoded.Bitmap == null) return null;
        int side = GalleryPicture.Side;
        using var surface = SKSurface.Create(new SKImageInfo(side, side, SKColorType.Bgra8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var smooth = new SKPaint { FilterQuality = SKFilterQuality.Medium };
        canvas.DrawBitmap(decoded.Bitmap, new SKRect(0, 0, side, side), smooth);
        using (var heat = Colours(map))
            canvas.DrawBitmap(heat, new SKRect(0, 0, side, side), smooth);
        using var snapshot = surface.Snapshot();
        using var encoded = snapshot.Encode(SKEncodedImageFormat.Jpeg, 85);
        return new GalleryPicture("image/jpeg", encoded.ToArray());
    }

    /// <summary>The map as colours: yellow to red with the value, opacity up to 0.6.</summary>
    static SKBitmap Colours(float[,] map)
    {
        int h = map.GetLength(0), w = map.GetLength(1);
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float v = Math.Clamp(map[y, x], 0f, 1f);
                bitmap.SetPixel(x, y, new SKColor(255, (byte)(230 * (1 - v)), 0, (byte)(153 * v)));
            }
        return bitmap;
    }
}

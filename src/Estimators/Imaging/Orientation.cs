using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>Turns and mirrors decoded pixels as an EXIF orientation asks, exactly (whole pixels moved, none
/// resampled).</summary>
public static class Orientation
{
    /// <summary>The picture as it is meant to be shown: <paramref name="stored"/> itself for "as stored", else a new
    /// bitmap (the caller disposes both).</summary>
    public static SKBitmap Upright(SKBitmap stored, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0) return stored;
        int w = stored.Width, h = stored.Height;
        bool swap = (int)origin >= (int)SKEncodedOrigin.LeftTop;
        var shown = new SKBitmap(new SKImageInfo(swap ? h : w, swap ? w : h, stored.ColorType, stored.AlphaType));
        if (stored.BytesPerPixel != 4 || stored.RowBytes != w * 4 || shown.RowBytes != shown.Width * 4)
            throw new NotSupportedException("Orientation.Upright expects tightly packed 32-bit pixels");
        var from = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(BitmapPixels.Of(stored));
        var to = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(BitmapPixels.Of(shown));
        int shownRow = shown.Width;
        for (int y = 0; y < h; y++)
        {
            // stored row y lands at start + x · step in the shown picture (EXIF 2-8; 1 returned above)
            var (start, step) = origin switch
            {
                SKEncodedOrigin.TopRight => (y * shownRow + w - 1, -1),
                SKEncodedOrigin.BottomRight => ((h - 1 - y) * shownRow + w - 1, -1),
                SKEncodedOrigin.BottomLeft => ((h - 1 - y) * shownRow, 1),
                SKEncodedOrigin.LeftTop => (y, shownRow),
                SKEncodedOrigin.RightTop => (h - 1 - y, shownRow),
                SKEncodedOrigin.RightBottom => ((w - 1) * shownRow + h - 1 - y, -shownRow),
                SKEncodedOrigin.LeftBottom => ((w - 1) * shownRow + y, -shownRow),
                _ => (y * shownRow, 1),
            };
            var storedRow = from.Slice(y * w, w);
            for (int x = 0, at = start; x < w; x++, at += step) to[at] = storedRow[x];
        }
        return shown;
    }
}

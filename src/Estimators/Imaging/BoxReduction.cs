using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>
/// Shrinks a decoded image by a whole power of two, each output pixel the rounded mean of the k × k pixels it covers
/// (the boxes on the right and bottom edges averaged over the pixels they have) — what libjpeg's DCT scaling does for a
/// JPEG, done on decoded pixels for the formats that cannot decode small (PNG, GIF, BMP) and for what a JPEG's 1/8
/// still leaves too large. Pillow's <c>Image.reduce(k)</c> computes the same means for opaque images (within 1 where its
/// fixed-point division rounds otherwise: 24 of 35 910 values on a noise picture), so the torchrun job's loader matches. Works on premultiplied BGRA, so transparent pixels weigh nothing in their box's colour.
/// </summary>
public static class BoxReduction
{
    /// <summary>The largest power of two k whose reduction keeps the shorter side at <paramref name="side"/> or more
    /// (ML.NET's crop resize maps the shorter side onto it); 1 when halving would already fall short.</summary>
    public static int Factor(int width, int height, int side)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 1);
        int k = 1;
        while (k <= int.MaxValue / 4 && Reduced(Math.Min(width, height), 2 * k) >= side) k *= 2;
        return k;
    }

    /// <summary>A side after reduction by <paramref name="k"/>: ceil(n / k).</summary>
    public static int Reduced(int n, int k) => (int)(((long)n + k - 1) / k);

    /// <summary>A new bitmap <paramref name="source"/>'s size divided by <paramref name="k"/> (rounded up), each pixel
    /// its box's mean; the caller disposes both.</summary>
    public static SKBitmap Reduce(SKBitmap source, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 2);
        if (!System.Numerics.BitOperations.IsPow2(k)) throw new ArgumentException("expected a power of two", nameof(k));
        if (source.BytesPerPixel != 4 || source.RowBytes != source.Width * 4)
            throw new ArgumentException("expected tightly packed 32-bit pixels", nameof(source));
        int width = source.Width, height = source.Height, outWidth = Reduced(width, k), outHeight = Reduced(height, k);
        var reduced = new SKBitmap(new SKImageInfo(outWidth, outHeight, source.ColorType, source.AlphaType));
        var from = BitmapPixels.Of(source);
        var to = BitmapPixels.Of(reduced);
        var sums = new ulong[outWidth * 4]; // a box's sums: k² · 255 each
        for (int oy = 0; oy < outHeight; oy++)
        {
            Array.Clear(sums);
            int y0 = oy * k, rows = Math.Min(k, height - y0);
            for (int y = y0; y < y0 + rows; y++)
            {
                var row = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(from.Slice(y * width * 4, width * 4));
                for (int ox = 0, x = 0; ox < outWidth; ox++)
                {
                    uint b = 0, g = 0, r = 0, a = 0; // one row of one box: at most k · 255
                    for (int end = Math.Min(x + k, width); x < end; x++)
                    {
                        uint p = row[x];
                        b += p & 0xFF; g += (p >> 8) & 0xFF; r += (p >> 16) & 0xFF; a += p >> 24;
                    }
                    sums[ox * 4] += b; sums[ox * 4 + 1] += g; sums[ox * 4 + 2] += r; sums[ox * 4 + 3] += a;
                }
            }
            var outRow = to.Slice(oy * outWidth * 4, outWidth * 4);
            for (int ox = 0; ox < outWidth; ox++)
            {
                ulong count = (ulong)rows * (ulong)Math.Min(k, width - ox * k);
                for (int c = 0; c < 4; c++) outRow[ox * 4 + c] = (byte)((sums[ox * 4 + c] + count / 2) / count);
            }
        }
        return reduced;
    }
}

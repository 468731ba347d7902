using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
        var columns = new uint[width * 4]; // a band of k rows summed down each column and channel: at most k · 255
        for (int oy = 0; oy < outHeight; oy++)
        {
            Array.Clear(columns);
            int y0 = oy * k, rows = Math.Min(k, height - y0);
            for (int y = y0; y < y0 + rows; y++) AddRow(from.Slice(y * width * 4, width * 4), columns);
            var outRow = to.Slice(oy * outWidth * 4, outWidth * 4);
            for (int ox = 0; ox < outWidth; ox++)
            {
                int x0 = ox * k, boxWidth = Math.Min(k, width - x0);
                ulong count = (ulong)rows * (ulong)boxWidth, b = 0, g = 0, r = 0, a = 0;
                for (int i = x0 * 4, end = (x0 + boxWidth) * 4; i < end; i += 4)
                {
                    b += columns[i]; g += columns[i + 1]; r += columns[i + 2]; a += columns[i + 3];
                }
                outRow[ox * 4] = (byte)((b + count / 2) / count);
                outRow[ox * 4 + 1] = (byte)((g + count / 2) / count);
                outRow[ox * 4 + 2] = (byte)((r + count / 2) / count);
                outRow[ox * 4 + 3] = (byte)((a + count / 2) / count);
            }
        }
        return reduced;
    }

    /// <summary>Adds each byte of <paramref name="row"/> to the sum at its index, sixteen at a time where the CPU has
    /// vectors.</summary>
    static void AddRow(ReadOnlySpan<byte> row, Span<uint> sums)
    {
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var bytes = MemoryMarshal.Cast<byte, Vector128<byte>>(row);
            var totals = MemoryMarshal.Cast<uint, Vector128<uint>>(sums);
            for (int v = 0; v < bytes.Length; v++)
            {
                var (low, high) = Vector128.Widen(bytes[v]);
                var (q0, q1) = Vector128.Widen(low);
                var (q2, q3) = Vector128.Widen(high);
                totals[4 * v] += q0;
                totals[4 * v + 1] += q1;
                totals[4 * v + 2] += q2;
                totals[4 * v + 3] += q3;
            }
            i = bytes.Length * 16;
        }
        for (; i < row.Length; i++) sums[i] += row[i];
    }
}

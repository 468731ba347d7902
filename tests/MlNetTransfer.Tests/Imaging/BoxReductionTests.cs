using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>The reduction that brings formats without scaled decoding (and what a JPEG's 1/8 leaves too large) to the
/// size training needs: each pixel its box's rounded mean, partial boxes at the edges averaged over what they hold,
/// and the factor the largest power of two that keeps the shorter side at the network's side.</summary>
public class BoxReductionTests
{
    [Theory]
    [InlineData(1000, 750, 224, 2)]  // 375 ≥ 224, 188 is not
    [InlineData(1000, 750, 64, 8)]   // 94 ≥ 64, 47 is not
    [InlineData(1000, 750, 400, 1)]  // 375 < 400: whole
    [InlineData(447, 2000, 224, 2)]  // 447 / 2 rounds up to 224: the side is covered
    [InlineData(13300, 13300, 224, 32)]
    [InlineData(28, 28, 224, 1)]
    public void The_factor_keeps_the_shorter_side_at_the_side_or_more(int width, int height, int side, int factor)
    {
        Assert.Equal(factor, BoxReduction.Factor(width, height, side));
        Assert.True(Math.Min(BoxReduction.Reduced(width, factor), BoxReduction.Reduced(height, factor)) >= side || factor == 1);
        Assert.True(Math.Min(BoxReduction.Reduced(width, factor * 2), BoxReduction.Reduced(height, factor * 2)) < side);
    }

    [Fact]
    public void Each_pixel_is_its_boxs_rounded_mean_and_edge_boxes_average_what_they_hold()
    {
        var random = new Random(7);
        using var source = new SKBitmap(new SKImageInfo(11, 7, SKColorType.Bgra8888, SKAlphaType.Premul));
        var pixels = new byte[11 * 7 * 4];
        for (int i = 0; i < pixels.Length; i += 4)
        {
            byte alpha = (byte)random.Next(256);
            pixels[i + 3] = alpha;
            for (int c = 0; c < 3; c++) pixels[i + c] = (byte)random.Next(alpha + 1); // premultiplied: colour ≤ alpha
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, source.GetPixels(), pixels.Length);

        using var reduced = BoxReduction.Reduce(source, 4);

        Assert.Equal((3, 2), (reduced.Width, reduced.Height)); // ceil(11 / 4), ceil(7 / 4)
        var got = reduced.Bytes;
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 3; ox++)
                for (int c = 0; c < 4; c++)
                {
                    int sum = 0, count = 0;
                    for (int y = oy * 4; y < Math.Min(oy * 4 + 4, 7); y++)
                        for (int x = ox * 4; x < Math.Min(ox * 4 + 4, 11); x++) { sum += pixels[(y * 11 + x) * 4 + c]; count++; }
                    Assert.Equal((sum + count / 2) / count, got[(oy * 3 + ox) * 4 + c]);
                }
        Assert.Throws<ArgumentException>(() => BoxReduction.Reduce(source, 3));
    }
}

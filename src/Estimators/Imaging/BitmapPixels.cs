using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>A bitmap's pixel bytes as a span, through the calls SkiaSharp 2.88 and 3.x both have. An app on ML.NET 6
/// (ImageAnalytics 6 brings SkiaSharp 3) runs this library against SkiaSharp 3, where <c>SKBitmap.GetPixelSpan()</c>
/// returns <c>Span&lt;byte&gt;</c> instead of 2.88's <c>ReadOnlySpan&lt;byte&gt;</c>: a call compiled against 2.88 fails
/// there with MissingMethodException. <c>GetPixels()</c> and <c>ByteCount</c> are the same in both.</summary>
internal static class BitmapPixels
{
    /// <summary>The pixel bytes of <paramref name="bitmap"/>, valid while it is alive and unchanged in size.</summary>
    public static unsafe Span<byte> Of(SKBitmap bitmap)
    {
        var start = bitmap.GetPixels();
        if (start == IntPtr.Zero) throw new ArgumentException("the bitmap holds no pixels", nameof(bitmap));
        return new Span<byte>((void*)start, bitmap.ByteCount);
    }
}

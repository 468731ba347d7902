using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>An image decoded by <see cref="ImageDecoder"/> (BGRA, premultiplied, upright, at the scale asked for),
/// or what kept it from decoding. Disposing frees the pixels.</summary>
public sealed record DecodedImage(SKBitmap? Bitmap, ImageHeader? Header, string? Problem) : IDisposable
{
    internal static DecodedImage Failed(string problem) => new(null, null, problem);

    public void Dispose() => Bitmap?.Dispose();
}

using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>What an image file says about itself before any pixel is decoded: its stored size, its format and the
/// EXIF orientation it asks viewers to apply.</summary>
public sealed record ImageHeader(int Width, int Height, SKEncodedImageFormat Format, SKEncodedOrigin Origin)
{
    /// <summary>Pixels the image holds (what a full decode allocates, four bytes each).</summary>
    public long Pixels => (long)Width * Height;

    /// <summary>Whether the file asks to be turned or mirrored before it is shown (an EXIF orientation other than
    /// "as stored": what phones write for photos taken upright).</summary>
    public bool Turned => Origin is not (SKEncodedOrigin.TopLeft or 0);

    /// <summary>The sides as shown: a quarter turn swaps them.</summary>
    public (int Width, int Height) Upright => (int)Origin >= (int)SKEncodedOrigin.LeftTop ? (Height, Width) : (Width, Height);
}

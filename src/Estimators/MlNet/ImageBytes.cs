using Microsoft.ML.Data;
using MlNetTransfer.Imaging;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Images held in memory (an upload, a blob, a camera frame) as the <see cref="MLImage"/> rows TransferTrain trains on
/// and a saved model scores, decoded as this library decodes files: the header checked against the pixel limit before
/// anything is allocated, the memory taken from the process's decode budget, turned upright as the EXIF orientation
/// asks, and a damaged file or one whose header lies refused with the reason. <c>MLImage.CreateFromStream</c> decodes
/// through SkiaSharp's wrapper of a .NET stream, which an untrusted upload can turn against the process: a 1 KB BMP
/// whose header puts its pixels 1.6 GB into the file made it allocate 1.6 GB, one that says 4 GB ended the process.
/// </summary>
public static class ImageBytes
{
    /// <summary>
    /// Decodes <paramref name="bytes"/> (JPEG, PNG, GIF, BMP, WebP). Without <paramref name="side"/>, at full size:
    /// the pixels <c>MLImage.CreateFromStream</c> gives, but upright. With the side the model reads (its
    /// <c>ImageSize</c>), as the library decodes files for it — a photo at the smallest scale whose shorter side covers
    /// the side, then box-reduced to under twice it — so a 12-megapixel upload takes 0.8 MB instead of 48 MB and scores
    /// as the generated web API scores it.
    /// </summary>
    /// <exception cref="InvalidDataException">Not an image, damaged, or over <paramref name="maxPixels"/>: the message
    /// says which.</exception>
    public static MLImage Decode(byte[] bytes, int? side = null, long maxPixels = ImageDecoder.DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (side is < 1) throw new ArgumentOutOfRangeException(nameof(side), side, "the side the model reads, 1 pixel or more (null: full size)");
        using var decoded = ImageDecoder.Decode(new MemoryStream(bytes, writable: false), side ?? int.MaxValue, maxPixels);
        if (decoded.Bitmap is null) throw new InvalidDataException($"the image ({bytes.Length} bytes): {decoded.Problem}");
        return MlNetPixels.ToMLImage(decoded.Bitmap);
    }
}

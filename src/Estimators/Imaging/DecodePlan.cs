using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>
/// How an image is decoded for a network that reads <c>side</c> × <c>side</c> pixels, and the memory that takes: the
/// result's shorter side ends between the side and twice it (ML.NET's crop resize then maps it onto the side), by the
/// cheapest path each format has — a JPEG at libjpeg-turbo's 1/8, 1/4 or 1/2 DCT scale, a WebP at any size through
/// libwebp's scaler, the others decoded whole — and then, where that is still twice the side or more, halved as
/// often as it takes by <see cref="BoxReduction"/>. An image whose shorter side is under twice the side decodes whole
/// and as stored: the pixels ML.NET's LoadImages gives.
/// </summary>
/// <param name="Decoded">The size the codec decodes at.</param>
/// <param name="ReduceBy">The power of two the decoded pixels are then reduced by (1: none).</param>
/// <param name="Bytes">The most memory the decode holds at once: the decoded pixels, the reduced copy, a progressive
/// JPEG's coefficients and a WebP decoder's buffers.</param>
public sealed record DecodePlan(SKSizeI Decoded, int ReduceBy, long Bytes)
{
    /// <summary>The JPEG scales tried, smallest first (libjpeg-turbo's fast power-of-two paths).</summary>
    static readonly float[] JpegScales = [0.125f, 0.25f, 0.5f];

    /// <summary>The plan for the image <paramref name="codec"/> has opened; <paramref name="jpegCoefficients"/> is what a
    /// JPEG's frame header says its coefficients take (<see cref="JpegFrame"/>; null: unknown, the most assumed).</summary>
    public static DecodePlan For(SKCodec codec, int side, long? jpegCoefficients)
    {
        var full = codec.Info.Size;
        var decoded = full;
        long extra = 0;
        switch (codec.EncodedFormat)
        {
            case SKEncodedImageFormat.Jpeg:
                foreach (var scale in JpegScales)
                    if (codec.GetScaledDimensions(scale) is var scaled && Math.Min(scaled.Width, scaled.Height) >= side) { decoded = scaled; break; }
                extra = jpegCoefficients ?? (long)full.Width * full.Height * 6; // unknown: 3 components × 2 bytes, none subsampled
                break;
            case SKEncodedImageFormat.Webp:
                int k = BoxReduction.Factor(full.Width, full.Height, side);
                decoded = new SKSizeI(BoxReduction.Reduced(full.Width, k), BoxReduction.Reduced(full.Height, k));
                extra = (long)full.Width * full.Height * 6; // a lossless one holds its whole ARGB image and more (measured)
                break;
        }
        int reduceBy = BoxReduction.Factor(decoded.Width, decoded.Height, side);
        long reduced = reduceBy > 1 ? (long)BoxReduction.Reduced(decoded.Width, reduceBy) * BoxReduction.Reduced(decoded.Height, reduceBy) * 4 : 0;
        return new DecodePlan(decoded, reduceBy, (long)decoded.Width * decoded.Height * 4 + reduced + extra);
    }
}

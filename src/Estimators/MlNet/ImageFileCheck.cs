using SkiaSharp;

namespace MlNetTransfer.MlNet;

/// <summary>
/// Decodes an image file completely to tell a whole image from a damaged one. ML.NET's LoadImages (SkiaSharp's
/// <c>SKBitmap.Decode</c>) accepts a file whose data ends early and fills the missing rows with black, so a truncated
/// PNG or JPEG would train and predict as a real picture; here only a decode that reaches the last row passes.
/// </summary>
public static class ImageFileCheck
{
    /// <summary>Null when <paramref name="path"/> is a complete image; otherwise what is wrong with it, in a few words.</summary>
    public static string? Problem(string path) => Inspect(path).Problem;

    /// <summary><see cref="Problem"/>, and whether the file asks to be turned before it is shown (an EXIF orientation
    /// other than "as stored", what phones write for upright photos): ML.NET's LoadImages reads pixels as stored, so
    /// such an image trains and is scored turned.</summary>
    public static (string? Problem, bool Turned) Inspect(string path)
    {
        if (!File.Exists(path)) return ("missing", false);
        try
        {
            using var stream = File.OpenRead(path);
            if (stream.Length == 0) return ("empty file", false);
            using var codec = SKCodec.Create(stream, out var opened);
            if (codec == null) return ($"not a readable image ({Describe(opened)})", false);
            var info = codec.Info;
            if (info.Width <= 0 || info.Height <= 0) return ("empty image", false);
            using var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
            var decoded = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
            return (decoded switch
            {
                SKCodecResult.Success => null,
                SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => "truncated or damaged (its image data ends early)",
                _ => $"not a readable image ({Describe(decoded)})",
            }, codec.EncodedOrigin != SKEncodedOrigin.TopLeft);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ($"cannot be read ({e.Message})", false);
        }
    }

    static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.Unimplemented => "format not supported",
        SKCodecResult.IncompleteInput => "file ends early",
        _ => result.ToString(),
    };
}

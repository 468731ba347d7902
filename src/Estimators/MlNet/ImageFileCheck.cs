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
    public static string? Problem(string path)
    {
        if (!File.Exists(path)) return "missing";
        try
        {
            using var stream = File.OpenRead(path);
            if (stream.Length == 0) return "empty file";
            using var codec = SKCodec.Create(stream, out var opened);
            if (codec == null) return $"not a readable image ({Describe(opened)})";
            var info = codec.Info;
            if (info.Width <= 0 || info.Height <= 0) return "empty image";
            using var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
            var decoded = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
            return decoded switch
            {
                SKCodecResult.Success => null,
                SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput => "truncated or damaged (its image data ends early)",
                _ => $"not a readable image ({Describe(decoded)})",
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read ({e.Message})";
        }
    }

    static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.Unimplemented => "format not supported",
        SKCodecResult.IncompleteInput => "file ends early",
        _ => result.ToString(),
    };
}

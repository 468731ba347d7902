using SkiaSharp;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Finds the JPEGs whose file asks to be turned before it is shown (an EXIF orientation other than "as stored", what
/// cameras and phones write for pictures taken upright). ML.NET's LoadImages reads the pixels as stored, in training
/// and in the saved model alike, so such images train and score turned: consistent, but a set that mixes them makes
/// the network learn every orientation of every class. Only headers are read, not pixels.
/// </summary>
public static class ExifOrientation
{
    /// <summary>A line for the user when some images of <paramref name="set"/> carry an orientation; null when none.</summary>
    public static string? Note(LabelledImageSet set)
    {
        var turned = set.Rows.Select(r => r.ImagePath)
            .Where(p => Path.GetExtension(p).ToLowerInvariant() is ".jpg" or ".jpeg")
            .AsParallel().AsOrdered().Where(p => IsTurned(Path.Combine(set.Root, p))).ToList();
        return turned.Count == 0 ? null
            : $"{turned.Count} image(s) carry an EXIF orientation (e.g. {turned[0]}) that ML.NET's LoadImages does not apply: they train and " +
              "are scored as stored, turned; rotate them on disk first (exiftran -ai, mogrify -auto-orient) if they should be upright";
    }

    static bool IsTurned(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var codec = SKCodec.Create(stream);
            return codec != null && codec.EncodedOrigin != SKEncodedOrigin.TopLeft;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // unreadable files are reported by the image check
        }
    }
}

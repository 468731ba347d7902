namespace MlNetTransfer.Cli.Data;

/// <summary>Image formats people bring that SkiaSharp cannot decode — an iPhone's HEIC photos, AVIF, TIFF scans, camera
/// RAW files —: left alone like any file that is not an image by its extension, with a line that names them and says
/// how to convert them, rather than a bare count (a folder of iPhone photos used to end in "no readable images").</summary>
public static class OtherImageFormats
{
    /// <summary>What to do with the files of these extensions that are images in a format SkiaSharp cannot decode
    /// (<see cref="Imaging.UndecodableFormat.OfExtension"/>); null when none is.</summary>
    public static string? Hint(IEnumerable<string> extensions)
    {
        var found = extensions.Where(e => Imaging.UndecodableFormat.OfExtension(e) != null).Select(e => e.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).ToList();
        if (found.Count == 0) return null;
        var formats = found.Select(e => Imaging.UndecodableFormat.OfExtension(e)!).Distinct();
        return $"{string.Join(", ", found)} files are images ({string.Join(", ", formats)}) that SkiaSharp cannot decode: convert them to JPEG " +
               $"first, e.g. mogrify -format jpg *{found[0]} (ImageMagick){(found.Any(e => e is ".heic" or ".heif") ? " or heif-convert (libheif-examples)" : "")}";
    }
}

using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>JPEGs as cameras write them: enlarged copies of data-samples' PNGs, and pictures stored turned with an
/// EXIF orientation that asks for them to be shown upright.</summary>
internal static class TurnedJpegs
{
    /// <summary>A JPEG of <paramref name="bitmap"/> with an EXIF APP1 segment asking for <paramref name="orientation"/>.</summary>
    public static string Save(SKBitmap bitmap, string path, int orientation, int quality = 100)
    {
        using var image = SKImage.FromBitmap(bitmap);
        var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, quality).ToArray();
        byte[] exif = [0xFF, 0xE1, 0x00, 0x22, .. "Exif\0\0"u8, .. "MM\0*"u8, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        File.WriteAllBytes(path, [.. jpeg[..2], .. exif, .. jpeg[2..]]);
        return path;
    }

    /// <summary>Every PNG under <paramref name="source"/> as a <paramref name="side"/>-pixel JPEG at the same relative
    /// path under <paramref name="target"/>; every <paramref name="turnEvery"/>-th stored upside down with EXIF
    /// orientation 3, which shows it upright.</summary>
    public static int CopyEnlarged(string source, string target, int side, int turnEvery)
    {
        var files = Directory.GetFiles(source, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < files.Count; i++)
        {
            var path = Path.ChangeExtension(Path.Combine(target, Path.GetRelativePath(source, files[i])), ".jpg");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var png = SKBitmap.Decode(files[i]);
            using var large = png.Resize(new SKImageInfo(side, side, SKColorType.Bgra8888, SKAlphaType.Opaque), SKFilterQuality.High);
            bool turned = i % turnEvery == 0;
            using var stored = new SKBitmap(large.Info);
            using (var canvas = new SKCanvas(stored))
            {
                if (turned) canvas.RotateDegrees(180, side / 2f, side / 2f);
                canvas.DrawBitmap(large, 0, 0);
            }
            Save(stored, path, turned ? 3 : 1, quality: 90);
        }
        return files.Count;
    }
}

using SkiaSharp;

namespace MlNetTransfer.DataPath;

/// <summary>Labelled synthetic PNGs at a side, made once and kept under ~/.cache: ten classes, each a shape (its
/// class) at a random place, size and colour on a gradient, so they compress like photos' smooth regions (a few KB
/// each) and decode through the same codec as real ones. Files 0 … N−1 of the list are the first N images.</summary>
public static class SyntheticPngs
{
    const int Classes = 10;

    /// <summary>The CSV (filename,target) listing the first <paramref name="count"/> images, generating what is missing.</summary>
    public static string Csv(int count, int side)
    {
        var folder = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mlnettransfer-datapath", $"png-{side}");
        Directory.CreateDirectory(folder);
        Parallel.For(0, count, i =>
        {
            var path = Path.Combine(folder, Name(i));
            if (!File.Exists(path)) Write(path, i, side);
        });
        var csv = Path.Combine(folder, $"first-{count}.csv");
        File.WriteAllLines(csv, ["filename,target", .. Enumerable.Range(0, count).Select(i => $"{Name(i)},class{i % Classes}")]);
        return csv;
    }

    static string Name(int i) => $"{i:D6}.png";

    static void Write(string path, int index, int side)
    {
        var random = new Random(index);
        using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            var top = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            var bottom = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            using var background = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, side), [top, bottom], SKShaderTileMode.Clamp) };
            canvas.DrawRect(0, 0, side, side, background);
            using var shape = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
            float size = side * (0.2f + 0.3f * (float)random.NextDouble()), x = (float)random.NextDouble() * (side - size), y = (float)random.NextDouble() * (side - size);
            int kind = index % Classes;
            if (kind < 5) canvas.DrawOval(new SKRect(x, y, x + size, y + size * (0.4f + 0.15f * kind)), shape);
            else
            {
                canvas.Save();
                canvas.RotateDegrees(18 * (kind - 5), x + size / 2, y + size / 2);
                canvas.DrawRect(x, y, size, size * 0.6f, shape);
                canvas.Restore();
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var temp = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, data.ToArray());
        File.Move(temp, path, overwrite: true);
    }
}

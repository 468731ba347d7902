using MlNetTransfer.Engine.Training;
using SkiaSharp;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>The two pictures of a training report as PNG: training curves and the confusion matrix. Text uses
/// DejaVu Sans when the system has it (Debian's fonts-dejavu-core), else Skia's default typeface.</summary>
public static class ChartRenderer
{
    static readonly string[] FontFiles = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];
    static readonly SKColor[] Palette = [new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28)];

    static SKTypeface Typeface() => FontFiles.Where(File.Exists).Select(SKTypeface.FromFile).FirstOrDefault(t => t != null) ?? SKTypeface.Default;

    /// <summary>Loss (left) and accuracy (right) per epoch, training and validation.</summary>
    public static byte[] TrainingCurves(IReadOnlyList<EpochSummary> history)
    {
        const int width = 1000, height = 420;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = Typeface();
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        Panel(canvas, typeface, new SKRect(60, 40, 480, 370), "loss", epochs,
            [("train", history.Select(h => h.TrainLoss).ToArray()), ("validation", history.Select(h => h.ValidationLoss ?? double.NaN).ToArray())]);
        Panel(canvas, typeface, new SKRect(560, 40, 980, 370), "accuracy", epochs,
            [("train", history.Select(h => h.TrainAccuracy).ToArray()), ("validation", history.Select(h => h.ValidationAccuracy ?? double.NaN).ToArray())]);
        return Encode(surface);
    }

    /// <summary>Counts per (actual, predicted), darker for more; actual classes down, predicted across. Cells shrink
    /// with the number of classes so the picture stays about 800 px a side whatever their number (a thousand classes
    /// at a fixed cell made an 18 000 px picture, 1.4 GB to draw): counts are written in cells of 18 px and more, class
    /// names beside cells of 8 px and more (beyond 100 classes the picture shows where the errors are and
    /// metrics.json has the numbers), and a name longer than the margin is cut with an ellipsis.</summary>
    public static byte[] ConfusionMatrix(IReadOnlyList<string> classes, int[][] confusion)
    {
        int k = classes.Count, cell = Math.Clamp(800 / Math.Max(k, 1), 2, 60);
        bool names = cell >= 8, counts = cell >= 18;
        using var typeface = Typeface();
        using var text = new SKPaint { Typeface = typeface, TextSize = Math.Min(12, cell - 2), IsAntialias = true, Color = SKColors.Black };
        using var title = new SKPaint { Typeface = typeface, TextSize = 12, IsAntialias = true, Color = SKColors.Black };
        var labels = names ? classes.Select(c => Fit(c, text, MaxLabelWidth)).ToList() : [];
        float labelWidth = labels.Count == 0 ? 0 : labels.Max(l => text.MeasureText(l));
        int left = names ? (int)labelWidth + 16 : 20, top = 40;
        int width = Math.Max(left + k * cell + Math.Max(30, (int)(labelWidth / 2) + 10), 420);
        int height = Math.Max(top + k * cell + (names ? (int)(labelWidth * 0.87f) + 30 : 20), 420);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        canvas.DrawText(names ? "actual (rows) vs predicted (columns)" : "actual (rows) vs predicted (columns), classes in metrics.json's order", left, 24, title);
        int max = Math.Max(1, confusion.SelectMany(r => r).Max());
        using var fill = new SKPaint();
        using var label = new SKPaint { Typeface = typeface, TextSize = 11, IsAntialias = true };
        for (int a = 0; a < k; a++)
        {
            if (names) canvas.DrawText(labels[a], left - 8 - text.MeasureText(labels[a]), top + a * cell + cell / 2 + text.TextSize / 3, text);
            for (int p = 0; p < k; p++)
            {
                byte shade = (byte)(255 - 200 * confusion[a][p] / max);
                fill.Color = a == p ? new SKColor((byte)(shade / 2), shade, (byte)(shade / 2)) : new SKColor(shade, shade, 255);
                var rect = SKRect.Create(left + p * cell, top + a * cell, Math.Max(1, cell - 1), Math.Max(1, cell - 1));
                canvas.DrawRect(rect, fill);
                if (!counts) continue;
                var count = confusion[a][p].ToString();
                label.Color = shade < 130 ? SKColors.White : SKColors.Black;
                canvas.DrawText(count, rect.MidX - label.MeasureText(count) / 2, rect.MidY + 4, label);
            }
        }
        for (int p = 0; p < k && names; p++)
        {
            canvas.Save();
            canvas.Translate(left + p * cell + cell / 2 + 4, top + k * cell + 8);
            canvas.RotateDegrees(60);
            canvas.DrawText(labels[p], 0, 0, text);
            canvas.Restore();
        }
        return Encode(surface);
    }

    /// <summary>The reliability diagram: per confidence bin, accuracy against mean confidence before (grey) and after
    /// (blue) calibration, beside the diagonal a calibrated model follows; the bars' width grows with the bin's images.</summary>
    public static byte[] Reliability(CalibrationReport calibration)
    {
        const int size = 420, margin = 50;
        using var surface = SKSurface.Create(new SKImageInfo(size + 160, size));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = Typeface();
        using var text = new SKPaint { Typeface = typeface, TextSize = 12, IsAntialias = true, Color = SKColors.Black };
        using var axis = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1, IsAntialias = true, Style = SKPaintStyle.Stroke };
        var area = new SKRect(margin, 30, size - 20, size - margin);
        canvas.DrawRect(area, axis);
        SKPoint Map(double x, double y) => new((float)(area.Left + x * area.Width), (float)(area.Bottom - y * area.Height));
        canvas.DrawLine(Map(0, 0), Map(1, 1), axis);
        for (int tick = 0; tick <= 4; tick++)
        {
            var label = (tick / 4.0).ToString("0.##");
            canvas.DrawText(label, area.Left - 8 - text.MeasureText(label), Map(0, tick / 4.0).Y + 4, text);
            canvas.DrawText(label, Map(tick / 4.0, 0).X - 8, area.Bottom + 16, text);
        }
        canvas.DrawText("confidence (top score)", area.MidX - 60, area.Bottom + 34, text);
        canvas.DrawText("accuracy", 4, area.Top - 12, text);
        int most = Math.Max(1, calibration.Before.Concat(calibration.After).Max(b => b.Images));
        foreach (var (bins, color, name, row) in new[]
                 {
                     (calibration.Before, new SKColor(0x99, 0x99, 0x99), $"before: ECE {calibration.EceBefore:0.000}", 0),
                     (calibration.After, Palette[0], $"after (T = {calibration.Temperature:0.##}): ECE {calibration.EceAfter:0.000}", 1),
                 })
        {
            using var dot = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
            foreach (var bin in bins)
                canvas.DrawCircle(Map(bin.Confidence, bin.Accuracy), 2 + 6 * (float)Math.Sqrt((double)bin.Images / most), dot);
            using var legend = new SKPaint { Typeface = typeface, TextSize = 12, IsAntialias = true, Color = color };
            canvas.DrawText(name, area.Right + 8, area.Top + 20 + 18 * row, legend);
        }
        canvas.DrawText($"{calibration.Images} test images", area.Right + 8, area.Top + 64, text);
        return Encode(surface);
    }

    const float MaxLabelWidth = 220;

    /// <summary><paramref name="name"/>, or as much of it as fits in <paramref name="width"/> with an ellipsis.</summary>
    static string Fit(string name, SKPaint paint, float width)
    {
        name = name.ReplaceLineEndings(" ");
        if (paint.MeasureText(name) <= width) return name;
        int keep = name.Length;
        while (keep > 1 && paint.MeasureText(name[..keep] + "…") > width) keep--;
        return name[..keep] + "…";
    }

    static void Panel(SKCanvas canvas, SKTypeface typeface, SKRect area, string title, double[] x, (string Name, double[] Y)[] series)
    {
        using var axis = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var text = new SKPaint { Typeface = typeface, TextSize = 12, IsAntialias = true, Color = SKColors.Black };
        canvas.DrawRect(area, axis);
        canvas.DrawText(title, area.Left, area.Top - 10, text);
        var values = series.SelectMany(s => s.Y).Where(double.IsFinite).ToList();
        if (values.Count == 0 || x.Length == 0) return;
        double minY = Math.Min(0, values.Min()), maxY = values.Max() <= minY ? minY + 1 : values.Max() * 1.05;
        double minX = x.Min(), maxX = x.Max() > minX ? x.Max() : minX + 1;
        SKPoint Map(double px, double py) => new((float)(area.Left + (px - minX) / (maxX - minX) * area.Width),
                                                 (float)(area.Bottom - (py - minY) / (maxY - minY) * area.Height));
        for (int tick = 0; tick <= 4; tick++)
        {
            double v = minY + (maxY - minY) * tick / 4;
            var label = v.ToString("0.###");
            canvas.DrawText(label, area.Left - 6 - text.MeasureText(label), Map(minX, v).Y + 4, text);
        }
        foreach (var epoch in x)
            canvas.DrawText(epoch.ToString("0"), Map(epoch, minY).X - 3, area.Bottom + 16, text);
        canvas.DrawText("epoch", area.MidX - 15, area.Bottom + 32, text);
        for (int s = 0; s < series.Length; s++)
        {
            using var line = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var path = new SKPath();
            bool started = false;
            for (int i = 0; i < x.Length; i++)
            {
                if (!double.IsFinite(series[s].Y[i])) continue;
                var point = Map(x[i], series[s].Y[i]);
                if (!started) path.MoveTo(point); else path.LineTo(point);
                started = true;
                canvas.DrawCircle(point, 3, line);
            }
            if (!started) continue;
            canvas.DrawPath(path, line);
            using var legend = new SKPaint { Typeface = typeface, TextSize = 12, IsAntialias = true, Color = Palette[s % Palette.Length] };
            canvas.DrawText(series[s].Name, area.Right - 90, area.Top + 18 + 16 * s, legend);
        }
    }

    static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

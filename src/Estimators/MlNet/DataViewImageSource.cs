using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.MlNet;

/// <summary>The images of an IDataView, read at whatever side the recipe asks for through the same stock resize and
/// pixel transforms the saved model uses (from the files themselves when they are known). Unusable rows are skipped,
/// counted, and reported once through <paramref name="log"/> (after the first read; every side skips the same rows),
/// or — <paramref name="failOnUnreadable"/> — fail the read with <see cref="UnreadableImagesException"/>.</summary>
internal sealed class DataViewImageSource(MLContext mlContext, IDataView data, string imageColumn, string labelColumn, string[] classes,
    string name, Action<string>? log, ImageFiles? files = null, ImageCache? cache = null, bool failOnUnreadable = false) : IImageSource
{
    bool _reported;
    const int SizeSample = 64;
    int? _sourceSide;

    public IReadOnlyList<string> ClassNames => classes;

    /// <summary>Rows left out (missing label, unreadable image) and why, from the first read.</summary>
    public int Skipped { get; private set; }
    public IReadOnlyList<string> Problems { get; private set; } = [];

    public int? SourceSide => _sourceSide ??= MedianSide();

    /// <summary>The input row of each image read (every side reads the same rows): how the data checks' findings,
    /// positions among the images read, name the rows of the data.</summary>
    public IReadOnlyList<long> Rows { get; private set; } = [];

    public ImageTensorDataset Read(int side)
    {
        var result = ImageTensorReader.Read(mlContext, data, imageColumn, labelColumn, classes, side, files, cache,
            new PhaseProgress($"{name} images at {side} px decoded", log));
        (Skipped, Problems, Rows) = (result.Skipped, result.Problems, result.Rows);
        if (failOnUnreadable && Skipped > 0)
        {
            result.Data.Dispose();
            throw new UnreadableImagesException(name, Problems);
        }
        log?.Invoke(result.Reused
            ? $"{name} images at {side} px: {result.Data.Count} reused from the decoded-image cache in {cache?.Folder} ({result.Elapsed.TotalSeconds:0.0} s, nothing decoded)"
            : $"{name} images at {side} px: {result.Data.Count} decoded in {result.Elapsed.TotalSeconds:0.0} s");
        if (!_reported && Skipped > 0) log?.Invoke($"skipped {Skipped} {name} rows: {string.Join("; ", Problems.Take(5))}");
        _reported = true;
        return result.Data;
    }

    /// <summary>The median longer side of the first images (a few are enough to know 28 px from 4000 px): from the
    /// files' headers when they are known, else decoded by LoadImages.</summary>
    int? MedianSide()
    {
        var sides = new List<int>();
        if (files != null)
        {
            using var rows = data.GetRowCursor([data.Schema[files.Column]]);
            var getPath = rows.GetGetter<ReadOnlyMemory<char>>(data.Schema[files.Column]);
            ReadOnlyMemory<char> path = default;
            for (int read = 0; read < SizeSample && rows.MoveNext(); read++)
            {
                getPath(ref path);
                if (Imaging.ImageDecoder.ReadHeader(files.FullPath(path.ToString()), files.MaxPixels).Header is { } header)
                    sides.Add(Math.Max(header.Width, header.Height));
            }
            return sides.Count == 0 ? null : sides.Order().ElementAt(sides.Count / 2);
        }
        using var cursor = data.GetRowCursor([data.Schema[imageColumn]]);
        var getImage = cursor.GetGetter<MLImage>(data.Schema[imageColumn]);
        MLImage? image = null;
        while (sides.Count < SizeSample && cursor.MoveNext())
        {
            try
            {
                getImage(ref image!);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                continue; // unreadable: the read reports it
            }
            if (image != null) sides.Add(Math.Max(image.Width, image.Height));
        }
        return sides.Count == 0 ? null : sides.Order().ElementAt(sides.Count / 2);
    }
}

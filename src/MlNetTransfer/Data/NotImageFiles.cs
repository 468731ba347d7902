namespace MlNetTransfer.Cli.Data;

/// <summary>The files of a folder left alone because their extension is not an image's (<see cref="LabelledImageSet.ImageExtensions"/>),
/// counted by extension, most first: what train, check, evaluate and predict say of a folder's other files, and how to
/// convert those that are images SkiaSharp cannot decode (<see cref="OtherImageFormats"/>).</summary>
public sealed class NotImageFiles
{
    NotImageFiles(IReadOnlyList<(string Extension, int Count)> counts) => Counts = counts;

    public static NotImageFiles None { get; } = new([]);

    /// <summary>Those of <paramref name="paths"/> whose extension is not an image's.</summary>
    public static NotImageFiles Of(IEnumerable<string> paths) => new(paths
        .Select(Path.GetExtension).OfType<string>().Where(e => !LabelledImageSet.ImageExtensions.Contains(e))
        .GroupBy(e => e.ToLowerInvariant()).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
        .Select(g => (g.Key, g.Count())).ToList());

    /// <summary>Each extension ("" for none, else lower case with its dot) and how many files have it.</summary>
    public IReadOnlyList<(string Extension, int Count)> Counts { get; }

    /// <summary>"3 .tif, 1 .txt"; null when there are none.</summary>
    public string? Description => Counts.Count == 0 ? null
        : string.Join(", ", Counts.Select(e => $"{e.Count} {(e.Extension.Length == 0 ? "without extension" : e.Extension)}"));

    /// <summary>How to convert those that are images SkiaSharp cannot decode (HEIC, TIFF, …); null when none is.</summary>
    public string? ConversionHint => OtherImageFormats.Hint(Counts.Select(e => e.Extension));
}

using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using MlNetTransfer.Engine.Data;
using MlNetTransfer.MlNet;
using SkiaSharp;

namespace MlNetTransfer.Photos;

/// <summary>Seconds per image, wall clock on every core, to get each file of a set to the network's side: (a) train's
/// own decode pass (<see cref="ImageFileReader"/>: header check, scaled decode, upright, ML.NET's resize, the record
/// written), (b) Pillow with DCT scaling and an anti-aliased resize (bench/photos/pillow_decode.py, a process per
/// core), (c) SkiaSharp's full-resolution decode alone (the floor a full decode cannot beat).</summary>
public static class DecodeTimings
{
    public sealed record Result(int Images, double Ours, double Pillow, double SkiaFull);

    public static Result Measure(IReadOnlyList<string> files, int side, string repository, string work)
    {
        // a first pass warms the page cache, so every reader below finds the files in memory
        Parallel.ForEach(files, file => File.ReadAllBytes(file));
        return new Result(files.Count, Ours(files, side, work) / files.Count, Pillow(files, side, repository, work) / files.Count,
            SkiaFull(files) / files.Count);
    }

    static double Ours(IReadOnlyList<string> files, int side, string work)
    {
        var ml = new MLContext(seed: 1) { TempFilePath = work };
        var rows = ml.Data.LoadFromEnumerable(files.Select(f => new Row { ImagePath = f, Label = Path.GetFileName(Path.GetDirectoryName(f))! }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
        var store = FileImageStore.Create(Path.Combine(work, $"decode-{Guid.NewGuid():N}.u8"), side);
        long next = -1;
        var clock = Stopwatch.StartNew();
        IReadOnlyCollection<ImageFileReader.Row> read;
        try
        {
            read = ImageFileReader.Fill(ml, keyed, "Label", files.Select(f => Path.GetDirectoryName(f)).Distinct().Count(),
                new ImageFiles("ImagePath", null), store, () => Interlocked.Increment(ref next));
        }
        finally
        {
            store.Release(); // the file goes with it
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (read.Any(r => r.Problem != null)) throw new InvalidOperationException(read.First(r => r.Problem != null).Problem);
        return seconds;
    }

    /// <summary>(b) alone, in seconds per image: measured again beside each repeated whole run.</summary>
    public static double PillowPerImage(IReadOnlyList<string> files, int side, string repository, string work) =>
        Pillow(files, side, repository, work) / files.Count;

    static double Pillow(IReadOnlyList<string> files, int side, string repository, string work)
    {
        var list = Path.Combine(work, "files.txt");
        File.WriteAllLines(list, files);
        var run = ChildRun.Of(ChildRun.Python, [Path.Combine(repository, "bench", "photos", "pillow_decode.py"), $"{side}", "--list", list]);
        using var result = JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]);
        return result.RootElement.GetProperty("seconds").GetDouble();
    }

    static double SkiaFull(IReadOnlyList<string> files)
    {
        var clock = Stopwatch.StartNew();
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, file =>
        {
            using var codec = SKCodec.Create(file);
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Bgra8888, SKAlphaType.Premul);
            using var bitmap = new SKBitmap(info);
            if (codec.GetPixels(info, bitmap.GetPixels()) != SKCodecResult.Success) throw new InvalidDataException(file);
        });
        return clock.Elapsed.TotalSeconds;
    }

    sealed class Row
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Data;
using MlNetTransfer.Engine.Training;
using Row = MlNetTransfer.MlNet.ImageFileReader.Row;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>Reads labelled images from an IDataView once into a file-backed store of decoded records (memory stays
/// flat in the number of images), decoding on every core and restoring row order in the dataset's record list, so a
/// seed still gives the same run. With the image files known, they are decoded by <see cref="ImageFileReader"/>
/// (whole-file check and scaled decode in one pass); otherwise the image column is read through one ML.NET cursor per
/// core. Rows with a missing label (key 0) or an image that fails to load are skipped and reported, not fatal; no
/// usable row is an error. With a reusable <see cref="ImageCache"/>, an unchanged input is not decoded again.</summary>
internal static class ImageTensorReader
{
    /// <summary>What was read; <see cref="Rows"/> are the input positions of the images kept, in order.</summary>
    public sealed record Result(ImageTensorDataset Data, int Skipped, IReadOnlyList<string> Problems, bool Reused, TimeSpan Elapsed,
        IReadOnlyList<long> Rows);

    /// <summary>Reads every usable row at <paramref name="side"/>. With <paramref name="files"/> (the path column LoadImages
    /// read and its folder), the files are decoded here and a truncated or damaged one is skipped. <paramref name="progress"/>
    /// counts the rows as they are read (not when the cache has them).</summary>
    public static Result Read(MLContext mlContext, IDataView data, string imageColumn, string labelColumn, string[] classNames, int side,
        ImageFiles? files = null, ImageCache? cache = null, PhaseProgress? progress = null)
    {
        var clock = Stopwatch.StartNew();
        cache ??= new ImageCache(mlContext.TempFilePath, reuse: false, log: null);
        var key = cache.KeyOf(data, labelColumn, classNames, files);
        if (cache.TryOpen(key, side, classNames.Length) is var (kept, manifest))
            return new Result(new ImageTensorDataset(kept, manifest.Records, tensor(manifest.Labels), classNames), manifest.Skipped,
                manifest.Problems, true, clock.Elapsed, manifest.Rows!);

        var store = cache.Create(key, side);
        try
        {
            long next = -1;
            long NextRecord() => Interlocked.Increment(ref next);
            var rows = files != null
                ? ImageFileReader.Fill(mlContext, data, labelColumn, classNames.Length, files, store, NextRecord, progress)
                : ReadImageColumn(mlContext, data, imageColumn, labelColumn, classNames.Length, store, NextRecord, progress);
            var ordered = rows.OrderBy(r => r.Id).ToList();
            var usable = ordered.Where(r => r.Problem == null).ToList();
            var problems = ordered.Where(r => r.Problem != null).Select(r => r.Problem!).ToList();
            if (usable.Count == 0)
                throw new InvalidOperationException($"No usable rows: {problems.Count} of {ordered.Count} skipped ({string.Join("; ", problems.Take(3))}).");
            var records = usable.Select(r => r.Record).ToArray();
            var labels = usable.Select(r => r.Label).ToArray();
            var rowIds = usable.Select(r => (long)r.Id).ToArray();
            var written = new ImageCache.Manifest(side, store.Count, records, labels, problems.Count, problems.ToArray()) { Rows = rowIds };
            store = cache.Publish(store, key, written);
            return new Result(new ImageTensorDataset(store, records, tensor(labels), classNames), problems.Count, written.Problems, false, clock.Elapsed,
                rowIds);
        }
        catch
        {
            store.Release(); // deletes the file: nothing half-written is left behind
            throw;
        }
    }

    /// <summary>The image column (LoadImages' decode) through one ML.NET cursor per core, each writing its rows'
    /// records as it goes.</summary>
    static IReadOnlyCollection<Row> ReadImageColumn(MLContext mlContext, IDataView data, string imageColumn, string labelColumn, int classCount,
        FileImageStore store, Func<long> nextRecord, PhaseProgress? progress)
    {
        if (progress != null) progress.Total = data.GetRowCount();
        var pixels = ImageColumns.Preprocess(mlContext, imageColumn, store.Side).Fit(data).Transform(data);
        var columns = new List<DataViewSchema.Column> { pixels.Schema[ImageColumns.Pixels], pixels.Schema[labelColumn] };
        var rows = new ConcurrentBag<Row>();
        var cursors = pixels.GetRowCursorSet(columns, Environment.ProcessorCount);
        try
        {
            // the first failure as it was (a full disk names the folder)
            Runtime.ParallelLoops.Run(() => Parallel.ForEach(cursors, cursor => ReadCursor(cursor, pixels.Schema, labelColumn, classCount, store, nextRecord, rows, progress)));
        }
        finally
        {
            foreach (var cursor in cursors) cursor.Dispose();
        }
        return rows;
    }

    static void ReadCursor(DataViewRowCursor cursor, DataViewSchema schema, string labelColumn, int classCount,
        FileImageStore store, Func<long> nextRecord, ConcurrentBag<Row> rows, PhaseProgress? progress)
    {
        var getPixels = cursor.GetGetter<VBuffer<float>>(schema[ImageColumns.Pixels]);
        var getLabel = cursor.GetGetter<uint>(schema[labelColumn]);
        var getId = cursor.GetIdGetter();
        VBuffer<float> buffer = default;
        DataViewRowId id = default;
        uint label = 0;
        var pixelBytes = new byte[store.RecordBytes];
        while (cursor.MoveNext())
        {
            progress?.Advance();
            getId(ref id);
            ulong row = id.Low + 1;
            getLabel(ref label);
            if (label == 0 || label > classCount)
            {
                rows.Add(new Row(id.Low, -1, 0, $"row {row}: label missing (not one of the label column's key values)"));
                continue;
            }
            try
            {
                getPixels(ref buffer);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                rows.Add(new Row(id.Low, -1, 0, $"row {row}: image could not be read ({e.GetBaseException().Message})"));
                continue;
            }
            var values = buffer.IsDense ? buffer.GetValues() : buffer.DenseValues().ToArray();
            if (values.Length != pixelBytes.Length)
                throw new InvalidOperationException($"row {row}: expected {pixelBytes.Length} pixel values after resizing, got {values.Length}");
            for (int i = 0; i < pixelBytes.Length; i++) pixelBytes[i] = (byte)Math.Clamp(MathF.Round(values[i]), 0, 255);
            long record = nextRecord();
            store.Write(record, pixelBytes);
            rows.Add(new Row(id.Low, record, label - 1, null)); // key k (1-based) is class index k-1: the label's key order
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Data;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Imaging;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The images of an IDataView whose files are known (the path column LoadImages read): each file read and decoded
/// once, on every core, by <see cref="ImageDecoder"/> — the check that it is whole and the decode are one pass, at
/// the smallest JPEG scale that covers the side, turned upright — then resized and extracted by ML.NET's own
/// transforms (<see cref="MlNetPixels"/>) into the store. The IDataView's image column is never read, so LoadImages
/// never decodes a file at full size here. Memory stays flat: one decoded image per core in flight.
/// </summary>
internal static class ImageFileReader
{
    public sealed record Row(ulong Id, long Record, long Label, string? Problem);

    /// <summary>Writes a record for every usable row of <paramref name="data"/> at <paramref name="store"/>'s side
    /// and returns every row (usable or not, with why), in no particular order; <paramref name="progress"/> counts the
    /// files as they are read.</summary>
    public static IReadOnlyCollection<Row> Fill(MLContext mlContext, IDataView data, string labelColumn, int classCount, ImageFiles files,
        FileImageStore store, Func<long> nextRecord, PhaseProgress? progress = null)
    {
        var listed = List(data, labelColumn, files);
        if (progress != null) progress.Total = listed.Count;
        if (listed.Count == 0) return []; // no file to read (the partitioner refuses an empty range)
        var rows = new ConcurrentBag<Row>();
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, listed.Count));
        var pixels = new ConcurrentBag<MlNetPixels>(Enumerable.Range(0, workers).Select(_ => new MlNetPixels(mlContext, store.Side)));
        try
        {
            Runtime.ParallelLoops.Run(() => Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, listed.Count, Math.Max(1, Math.Min(16, listed.Count / (workers * 4)))),
                new ParallelOptions { MaxDegreeOfParallelism = workers },
                range =>
                {
                    if (!pixels.TryTake(out var extractor)) throw new InvalidOperationException("more workers than pixel extractors");
                    try
                    {
                        var record = new byte[store.RecordBytes];
                        for (int i = range.Item1; i < range.Item2; i++)
                        {
                            rows.Add(Read(listed[i], classCount, files, extractor, store, record, nextRecord));
                            progress?.Advance();
                        }
                    }
                    finally
                    {
                        pixels.Add(extractor);
                    }
                })); // a failure as it was thrown: a full disk names the folder
        }
        finally
        {
            foreach (var extractor in pixels) extractor.Dispose();
        }
        return rows;
    }

    static Row Read((ulong Id, string Path, uint Label) row, int classCount, ImageFiles files, MlNetPixels extractor, FileImageStore store,
        byte[] record, Func<long> nextRecord)
    {
        if (row.Label == 0 || row.Label > classCount)
            return new Row(row.Id, -1, 0, $"row {row.Id + 1}: label missing (not one of the label column's key values)");
        using var decoded = ImageDecoder.Decode(files.FullPath(row.Path), store.Side, files.MaxPixels);
        if (decoded.Bitmap == null) return new Row(row.Id, -1, 0, $"{row.Path}: {decoded.Problem}");
        extractor.Write(decoded.Bitmap, record);
        long at = nextRecord();
        store.Write(at, record);
        return new Row(row.Id, at, row.Label - 1, null); // key k (1-based) is class index k-1: the label's key order
    }

    /// <summary>Every row's id, path and label key, read without touching the image column.</summary>
    static List<(ulong Id, string Path, uint Label)> List(IDataView data, string labelColumn, ImageFiles files)
    {
        var listed = new List<(ulong, string, uint)>();
        using var cursor = data.GetRowCursor([data.Schema[files.Column], data.Schema[labelColumn]]);
        var getPath = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema[files.Column]);
        var getLabel = cursor.GetGetter<uint>(data.Schema[labelColumn]);
        var getId = cursor.GetIdGetter();
        ReadOnlyMemory<char> path = default;
        DataViewRowId id = default;
        uint label = 0;
        while (cursor.MoveNext())
        {
            getId(ref id);
            getPath(ref path);
            getLabel(ref label);
            listed.Add((id.Low, path.ToString(), label));
        }
        return listed;
    }
}

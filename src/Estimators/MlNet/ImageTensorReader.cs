using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Training;
using static TorchSharp.torch;

namespace MlNetTransfer.MlNet;

/// <summary>Reads labelled images from an IDataView into the engine's compact tensors, decoding on every core
/// (one ML.NET cursor per core) and restoring row order, so a seed still gives the same run. Rows with a missing
/// label (key 0) or an image that fails to load are skipped and reported, not fatal; no usable row is an error.</summary>
internal static class ImageTensorReader
{
    public sealed record Result(ImageTensorDataset Data, int Skipped, IReadOnlyList<string> Problems);

    sealed record Row(ulong Id, byte[]? Pixels, long Label, string? Problem);

    /// <summary>Reads every usable row at <paramref name="side"/>. With <paramref name="files"/> (the path column LoadImages
    /// read and its folder), each file is first decoded completely and a truncated or damaged one is skipped.</summary>
    public static Result Read(MLContext mlContext, IDataView data, string imageColumn, string labelColumn, string[] classNames, int side,
        ImageFiles? files = null)
    {
        var pixels = ImageColumns.Preprocess(mlContext, imageColumn, side).Fit(data).Transform(data);
        var columns = new List<DataViewSchema.Column> { pixels.Schema[ImageColumns.Pixels], pixels.Schema[labelColumn] };
        if (files != null) columns.Add(pixels.Schema[files.Column]);
        var rows = new ConcurrentBag<Row>();
        var cursors = pixels.GetRowCursorSet(columns, Environment.ProcessorCount);
        try
        {
            Parallel.ForEach(cursors, cursor => ReadCursor(cursor, pixels.Schema, labelColumn, classNames.Length, 3 * side * side, files, rows));
        }
        finally
        {
            foreach (var cursor in cursors) cursor.Dispose();
        }

        var ordered = rows.OrderBy(r => r.Id).ToList();
        var usable = ordered.Where(r => r.Pixels != null).ToList();
        var problems = ordered.Where(r => r.Problem != null).Select(r => r.Problem!).ToList();
        if (usable.Count == 0)
            throw new InvalidOperationException($"No usable rows: {problems.Count} of {ordered.Count} skipped ({string.Join("; ", problems.Take(3))}).");
        int area = 3 * side * side;
        var all = new byte[(long)usable.Count * area];
        for (int i = 0; i < usable.Count; i++) Buffer.BlockCopy(usable[i].Pixels!, 0, all, i * area, area);
        var images = tensor(all, [usable.Count, 3, side, side], ScalarType.Byte);
        var labels = tensor(usable.Select(r => r.Label).ToArray());
        return new Result(new ImageTensorDataset(images, labels, classNames), problems.Count, problems.Take(20).ToList());
    }

    static void ReadCursor(DataViewRowCursor cursor, DataViewSchema schema, string labelColumn, int classCount, int area, ImageFiles? files,
        ConcurrentBag<Row> rows)
    {
        var getPixels = cursor.GetGetter<VBuffer<float>>(schema[ImageColumns.Pixels]);
        var getPath = files == null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(schema[files.Column]);
        ReadOnlyMemory<char> path = default;
        var getLabel = cursor.GetGetter<uint>(schema[labelColumn]);
        var getId = cursor.GetIdGetter();
        VBuffer<float> buffer = default;
        DataViewRowId id = default;
        uint label = 0;
        while (cursor.MoveNext())
        {
            getId(ref id);
            ulong row = id.Low + 1;
            getLabel(ref label);
            if (label == 0 || label > classCount)
            {
                rows.Add(new Row(id.Low, null, 0, $"row {row}: label missing (not one of the label column's key values)"));
                continue;
            }
            if (getPath != null)
            {
                getPath(ref path);
                if (files!.ProblemOf(path.ToString()) is { } problem)
                {
                    rows.Add(new Row(id.Low, null, 0, $"row {row}: {path}: {problem}"));
                    continue;
                }
            }
            try
            {
                getPixels(ref buffer);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                rows.Add(new Row(id.Low, null, 0, $"row {row}: image could not be read ({e.GetBaseException().Message})"));
                continue;
            }
            var values = buffer.IsDense ? buffer.GetValues() : buffer.DenseValues().ToArray();
            if (values.Length != area)
                throw new InvalidOperationException($"row {row}: expected {area} pixel values after resizing, got {values.Length}");
            var pixelBytes = new byte[area];
            for (int i = 0; i < area; i++) pixelBytes[i] = (byte)Math.Clamp(MathF.Round(values[i]), 0, 255);
            rows.Add(new Row(id.Low, pixelBytes, label - 1, null)); // key k (1-based) is class index k-1: the label's key order
        }
    }
}

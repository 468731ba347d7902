using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.MlNet;

/// <summary>
/// ML.NET's own resize and pixel extraction (<see cref="ImageColumns.Preprocess"/>: the transforms the saved model
/// applies) on images decoded by <see cref="ImageDecoder"/>, so a training record holds exactly the pixels the saved
/// model computes from the same decoded image. One per thread: a PredictionEngine is not thread-safe.
/// </summary>
internal sealed class MlNetPixels : IDisposable
{
    readonly PredictionEngine<ImageRow, PixelRow> _engine;
    readonly ImageRow _row = new();
    PixelRow _output = new();

    public MlNetPixels(MLContext mlContext, int side)
    {
        Side = side;
        var schema = mlContext.Data.LoadFromEnumerable(Array.Empty<ImageRow>());
        var fitted = ImageColumns.Preprocess(mlContext, ImageColumns.Source, side).Fit(schema);
        _engine = mlContext.Model.CreatePredictionEngine<ImageRow, PixelRow>(fitted);
    }

    public int Side { get; }

    /// <summary>Bytes a record takes: planar RGB, <see cref="Side"/>² each.</summary>
    public int RecordBytes => 3 * Side * Side;

    /// <summary>Resizes and extracts <paramref name="bitmap"/> into <paramref name="record"/> (planar RGB bytes).</summary>
    public void Write(SKBitmap bitmap, Span<byte> record)
    {
        using var image = ToMLImage(bitmap);
        _row.Image = image;
        _engine.Predict(_row, ref _output);
        var values = _output.Pixels;
        if (values.Length != record.Length)
            throw new InvalidOperationException($"expected {record.Length} pixel values after resizing, got {values.Length}");
        for (int i = 0; i < record.Length; i++) record[i] = (byte)Math.Clamp(MathF.Round(values[i]), 0, 255);
    }

    /// <summary>An MLImage holding a copy of <paramref name="bitmap"/>'s pixels (BGRA, as ML.NET's decoder leaves them).</summary>
    public static MLImage ToMLImage(SKBitmap bitmap)
    {
        if (bitmap.ColorType != SKColorType.Bgra8888 || bitmap.RowBytes != bitmap.Width * 4)
            throw new ArgumentException("expected tightly packed BGRA pixels (ImageDecoder's)", nameof(bitmap));
        return MLImage.CreateFromPixels(bitmap.Width, bitmap.Height, MLPixelFormat.Bgra32, BitmapPixels.Of(bitmap));
    }

    public void Dispose() => _engine.Dispose();

    internal sealed class ImageRow
    {
        [ColumnName(ImageColumns.Source)]
        // any size passes: the declared one is not checked (ML.NET 5's ImageType() without a size throws)
        [ImageType(1, 1)]
        public MLImage? Image { get; set; }
    }

    sealed class PixelRow
    {
        [ColumnName(ImageColumns.Pixels)]
        public float[] Pixels { get; set; } = [];
    }
}

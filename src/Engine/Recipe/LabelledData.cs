using MlNetTransfer.Engine.Training;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>The labelled images read at one side, with the rows that train and the rows that validate: a given
/// validation source, or a stratified share of the training source held out by seed (the same rows at every side,
/// since the split depends on the labels alone).</summary>
internal sealed class LabelledData : IDisposable
{
    LabelledData(ImageTensorDataset all, long[] trainRows, ImageTensorDataset? separateValidation, long[] validationRows)
    {
        All = all;
        TrainRows = trainRows;
        SeparateValidation = separateValidation;
        ValidationRows = validationRows;
    }

    /// <summary>Every image of the training source.</summary>
    public ImageTensorDataset All { get; }

    /// <summary>Rows of <see cref="All"/> that train.</summary>
    public long[] TrainRows { get; }

    /// <summary>The validation source's images, when one was given.</summary>
    public ImageTensorDataset? SeparateValidation { get; }

    /// <summary>Rows of <see cref="All"/> held out for validation (empty when a validation source was given).</summary>
    public long[] ValidationRows { get; }

    public bool HasValidation => SeparateValidation != null || ValidationRows.Length > 0;

    public int ValidationCount => SeparateValidation != null ? (int)SeparateValidation.Count : ValidationRows.Length;

    public static LabelledData Read(IImageSource train, IImageSource? validation, int side, double validationFraction, int seed)
    {
        var all = train.Read(side);
        try
        {
            if (validation != null)
                return new LabelledData(all, Enumerable.Range(0, (int)all.Count).Select(i => (long)i).ToArray(), validation.Read(side), []);
            var (trainRows, validationRows) = SplitRows(all.Labels.data<long>().ToArray(), validationFraction, seed);
            return new LabelledData(all, trainRows, null, validationRows);
        }
        catch
        {
            all.Dispose();
            throw;
        }
    }

    /// <summary>The rows the recipe fits on and the rows it validates on, for labels in row order: a stratified draw of
    /// <paramref name="validationFraction"/> for the seed, or every row to fit when the fraction is 0 (the same split
    /// whoever asks: a job exported for torchrun holds out the rows `train` would).</summary>
    public static (long[] Fit, long[] Validation) SplitRows(IReadOnlyList<long> labels, double validationFraction, int seed)
    {
        if (validationFraction <= 0) return (Enumerable.Range(0, labels.Count).Select(i => (long)i).ToArray(), []);
        var (fit, validation) = StratifiedSplit.Split(labels, validationFraction, seed);
        return (fit.ToArray(), validation.ToArray());
    }

    /// <summary>The training images as their own dataset (a view: no pixels are copied).</summary>
    public ImageTensorDataset TrainSet() => ValidationRows.Length == 0 ? All.Share() : All.Subset(TrainRows);

    /// <summary>The validation images as their own dataset (a view), or null.</summary>
    public ImageTensorDataset? ValidationSet() =>
        SeparateValidation != null ? SeparateValidation.Share() : ValidationRows.Length > 0 ? All.Subset(ValidationRows) : null;

    /// <summary>Rows of a per-image tensor of <see cref="All"/> (features, labels) that train / validate.</summary>
    public Tensor TrainPart(Tensor perImage) => perImage.index_select(0, tensor(TrainRows, device: perImage.device));
    public Tensor ValidationPart(Tensor perImage) => perImage.index_select(0, tensor(ValidationRows, device: perImage.device));

    public void Dispose()
    {
        All.Dispose();
        SeparateValidation?.Dispose();
    }
}

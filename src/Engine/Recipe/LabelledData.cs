using MlNetTransfer.Engine.Training;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Recipe;

/// <summary>The labelled images read at one side, with the rows that train and the rows that validate: a given
/// validation source, or a stratified share of the training source held out by seed (the same rows at every side,
/// since the split depends on the labels alone).</summary>
internal sealed class LabelledData : IDisposable
{
    LabelledData? _parent;

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

    /// <summary>The images of <paramref name="train"/> (less the rows <paramref name="excluded"/>) and the validation
    /// images, read at <paramref name="side"/>.</summary>
    public static LabelledData Read(IImageSource train, IImageSource? validation, int side, double validationFraction, int seed,
        IReadOnlyCollection<long>? excluded = null)
    {
        var data = Split(train.Read(side), validation, side, validationFraction, seed);
        if (excluded is not { Count: > 0 }) return data;
        try
        {
            return data.Without(excluded, validationFraction, seed);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    static LabelledData Split(ImageTensorDataset all, IImageSource? validation, int side, double validationFraction, int seed)
    {
        try
        {
            if (validation != null)
                return new LabelledData(all, Enumerable.Range(0, (int)all.Count).Select(i => (long)i).ToArray(), validation.Read(side), []);
            var (trainRows, validationRows) = StratifiedSplit.FitAndValidation(all.Labels.data<long>().ToArray(), validationFraction, seed);
            return new LabelledData(all, trainRows, null, validationRows);
        }
        catch
        {
            all.Dispose();
            throw;
        }
    }

    /// <summary>The same images less the rows of <see cref="All"/> in <paramref name="excluded"/>, split again (a view:
    /// no pixels are copied; it takes this data over and disposes it with itself). <see cref="KeptRows"/> maps its rows
    /// back to these.</summary>
    public LabelledData Without(IReadOnlyCollection<long> excluded, double validationFraction, int seed)
    {
        var set = excluded as IReadOnlySet<long> ?? excluded.ToHashSet();
        var kept = Enumerable.Range(0, (int)All.Count).Select(i => (long)i).Where(r => !set.Contains(r)).ToArray();
        if (kept.Length == 0) throw new InvalidOperationException("the data checks flagged every training image; nothing is left to train on");
        var reduced = Split(All.Subset(kept), null, 0, SeparateValidation != null ? 0 : validationFraction, seed);
        if (SeparateValidation != null) reduced = new LabelledData(reduced.All, reduced.TrainRows, SeparateValidation.Share(), []);
        reduced._parent = this;
        reduced.KeptRows = kept;
        return reduced;
    }

    /// <summary>For data made by <see cref="Without"/>: the row of the original data each row of <see cref="All"/> is.</summary>
    public long[]? KeptRows { get; private set; }

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
        _parent?.Dispose();
    }
}

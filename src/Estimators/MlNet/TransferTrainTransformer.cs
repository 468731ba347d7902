using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.MlNet;

/// <summary>
/// The fitted TransferTrain step. Underneath it is a chain of stock ML.NET transformers (see
/// <see cref="ScoringChain"/>); saving writes that chain, so <c>mlContext.Model.Load</c> needs no MlNetTransfer
/// assembly and no TorchSharp. It owns the ONNX file the chain reads and deletes it on <see cref="Dispose"/>, or when
/// the process exits.
/// </summary>
public sealed class TransferTrainTransformer : ITransformer, IDisposable
{
    readonly TransformerChain<ITransformer> _chain;
    readonly string _onnxPath;
    bool _disposed;

    internal TransferTrainTransformer(TransformerChain<ITransformer> chain, string onnxPath, IReadOnlyList<string> classNames, RunRecord run,
        IReadOnlyList<string> skippedImages)
    {
        _chain = chain;
        _onnxPath = onnxPath;
        ClassNames = classNames;
        Run = run;
        SkippedImages = skippedImages;
    }

    /// <summary>What the run decided and how it went (strategy, side, classifier, Auto's numbers, flip, history,
    /// stop reason), as the recipe recorded it.</summary>
    public RunRecord Run { get; }

    public string Architecture => Run.Architecture;

    /// <summary>Class names in Score slot order (= the label's key order).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    public int ImageSize => Run.ImageSize;

    /// <summary>The strategy the network was trained with (Auto resolved).</summary>
    public FineTuneStrategy Strategy => Run.Strategy;

    /// <summary>The training history, best epoch and strategy description; when the fit was cancelled, the
    /// checkpoint to resume from (<see cref="TransferTrainOptions.ResumeFrom"/>).</summary>
    public TrainingResult Training => Run.Training;

    /// <summary>The classifier solved on the frozen features that every strategy starts from: its penalty and
    /// validation accuracy (null when a resumed run started past it).</summary>
    public HeadChoice? Head => Run.Head;

    /// <summary>What Auto decided and why; null when a strategy was named.</summary>
    public AutoDecision? AutoDecision => Run.Auto;

    /// <summary>Whether Score averages each image with its mirror image (test-time flip), and why.</summary>
    public FlipDecision Flip => Run.Flip;

    /// <summary>The temperature Score is calibrated with and what it did on the validation images
    /// (<see cref="Calibration.None"/> when <see cref="FineTuneOptions.CalibrateScores"/> is off or nothing could be fitted;
    /// temperature 1 with <see cref="Calibration.Withheld"/> saying why when the validation images could not pin one down).</summary>
    public Calibration Calibration => Run.Calibration;

    /// <summary>Where it trained: <c>cpu</c>, <c>cuda:N</c>, or the devices of an exported job.</summary>
    public string Device => Run.Device;

    /// <summary>What the data checks found in the training (and test) rows, by row of the data given to Fit
    /// (<see cref="TransferTrainOptions.TestSet"/>'s for a leak); not checked when the run resumed or the checks were off.</summary>
    public DataHealthReport DataHealth { get; init; } = DataHealthReport.NotChecked;

    /// <summary>Where the network looks (Grad-CAM on its last convolutional stage) in each image file for the class at
    /// the same position: one map per image, [h, w] at that stage's resolution (7×7 for a ResNet at 224 px), largest
    /// value 1; null for an image that cannot be read. For a zip saved and loaded back (ML.NET's stock transforms, not
    /// this step): <see cref="TransferModelFile.Heatmaps"/>.</summary>
    public IReadOnlyList<float[,]?> Heatmaps(IReadOnlyList<string> imagePaths, IReadOnlyList<int> classes, long maxPixels = Imaging.ImageDecoder.DefaultMaxPixels)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return ModelHeatmaps.Compute(_onnxPath, imagePaths, classes, maxPixels);
    }

    /// <summary>Rows skipped during training (missing label or unreadable image).</summary>
    public int SkippedRows => SkippedImages.Count;

    /// <summary>Why each skipped row was left out: "path: why" where the files are known
    /// (<see cref="TransferTrainOptions.ImagePathColumnName"/>), else "row N: why".</summary>
    public IReadOnlyList<string> SkippedImages { get; }

    /// <summary>The fitted network as ONNX (input: planar RGB 0..255 [1,3,S,S]; outputs: Score, arg-max index).</summary>
    public byte[] GetOnnxModel() => File.ReadAllBytes(_onnxPath);

    /// <summary>Writes <see cref="GetOnnxModel"/> to <paramref name="path"/> atomically.</summary>
    public void SaveOnnx(string path) => AtomicFile.Write(path, temp => File.Copy(_onnxPath, temp));

    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    public IDataView Transform(IDataView input) => _chain.Transform(input);

    /// <summary>Writes the stock transformer chain: the zip holds no type of this assembly.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _chain.Dispose();
        if (File.Exists(_onnxPath)) File.Delete(_onnxPath);
        StaleFiles.KeepAtExit(_onnxPath);
    }
}

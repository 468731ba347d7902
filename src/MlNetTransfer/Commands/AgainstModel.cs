using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Training;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>The model an `--against` option names: checked before any work (a missing or damaged file, or one that
/// knows none of the images' classes, is refused at once), then scored on the images the command's own model scored
/// and compared with it. Its errors name --against.</summary>
internal static class AgainstModel
{
    /// <summary>What the model at <paramref name="path"/> says it is, read without loading it, refused unless it knows a
    /// class of <paramref name="set"/>: what `train` checks before training.</summary>
    public static OnnxMetadata Check(string path, LabelledImageSet set) => Named(() => SharesAClass(path, ModelLoading.ReadInfo(path), set));

    /// <summary>The model at <paramref name="path"/>, loaded as <see cref="ModelLoading.Load"/> loads one, after the same
    /// checks as <see cref="Check"/>.</summary>
    public static (ITransformer Model, OnnxMetadata Info) Open(MLContext mlContext, string path, (DeviceKind Kind, int? GpuDeviceId) device,
        LabelledImageSet set, IAnsiConsole human) =>
        Named(() =>
        {
            var opened = ModelLoading.Load(mlContext, path, device, human);
            try
            {
                SharesAClass(path, opened.Info, set);
                return opened;
            }
            catch
            {
                (opened.Model as IDisposable)?.Dispose();
                throw;
            }
        });

    /// <summary><paramref name="other"/> (opened from <paramref name="path"/>) scored on <paramref name="set"/> and
    /// compared with <paramref name="scored"/> (in <paramref name="classes"/>' order), its sure answers at
    /// <paramref name="minScore"/>.</summary>
    public static AgainstReport Compare(MLContext mlContext, string path, (ITransformer Model, OnnxMetadata Info) other, LabelledImageSet set,
        IReadOnlyList<ScoredImage> scored, IReadOnlyList<string> classes, long maxPixels, double minScore, IAnsiConsole human)
    {
        var names = other.Info.ClassNames;
        var (theirs, _) = ModelScoring.Score(mlContext, other.Model, set, names, other.Info.Preprocessing.InputSize, maxPixels, galleryPictures: 0,
            progress: new PhaseProgress($"images scored by {path}", human.WriteLine));
        return new AgainstReport(path, ModelComparison.Of(scored, classes, theirs, names), SureAnswers.At(theirs, minScore));
    }

    static OnnxMetadata SharesAClass(string path, OnnxMetadata info, LabelledImageSet set) =>
        set.Classes.Any(info.ClassNames.Contains) ? info
        : throw new CliException(ExitCodes.EmptyData, $"{path}: no image of {set.Source} was scored by both models (its classes: {string.Join(", ", info.ClassNames)}).");

    static T Named<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (CliException e)
        {
            throw new CliException(e.ExitCode, $"--against {e.Message}");
        }
    }
}

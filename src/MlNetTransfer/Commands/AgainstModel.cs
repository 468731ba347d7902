using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Onnx;
using MlNetTransfer.Engine.Training;
using Spectre.Console;

namespace MlNetTransfer.Cli.Commands;

/// <summary>The model an `--against` option names: opened before any work (a missing or damaged file is refused at
/// once), then scored on the images the command's own model scored and compared with it.</summary>
internal static class AgainstModel
{
    /// <summary>The model at <paramref name="path"/>, loaded as <see cref="ModelLoading.Load"/> loads one; its errors name --against.</summary>
    public static (ITransformer Model, OnnxMetadata Info) Open(MLContext mlContext, string path, (DeviceKind Kind, int? GpuDeviceId) device, IAnsiConsole human)
    {
        if (!File.Exists(path)) throw new CliException(ExitCodes.BadModel, $"--against {path}: model file not found.");
        try
        {
            return ModelLoading.Load(mlContext, path, device, human);
        }
        catch (CliException e)
        {
            throw new CliException(e.ExitCode, $"--against {e.Message}");
        }
    }

    /// <summary><paramref name="other"/> (opened from <paramref name="path"/>) scored on <paramref name="set"/> and
    /// compared with <paramref name="scored"/> (in <paramref name="classes"/>' order), its sure answers at
    /// <paramref name="minScore"/>.</summary>
    public static AgainstReport Compare(MLContext mlContext, string path, (ITransformer Model, OnnxMetadata Info) other, LabelledImageSet set,
        IReadOnlyList<ScoredImage> scored, IReadOnlyList<string> classes, long maxPixels, double minScore, IAnsiConsole human)
    {
        var names = other.Info.ClassNames;
        var (theirs, _) = ModelScoring.Score(mlContext, other.Model, set, names, other.Info.Preprocessing.InputSize, maxPixels, galleryPictures: 0,
            progress: new PhaseProgress($"images scored by {path}", human.WriteLine));
        var files = scored.Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        if (!theirs.Any(t => files.Contains(t.File)))
            throw new CliException(ExitCodes.EmptyData, $"--against {path}: no image of {set.Source} was scored by both models (its classes: {string.Join(", ", names)}).");
        return new AgainstReport(path, ModelComparison.Of(scored, classes, theirs, names), SureAnswers.At(theirs, minScore));
    }
}

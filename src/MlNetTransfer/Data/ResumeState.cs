using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Data;

/// <summary>What an interrupted `train` leaves next to its checkpoint model so `train --resume` goes on where it
/// stopped: the data it read (and a fingerprint of its images, so a resume on other images is refused), and the run's
/// options record as given (Auto unresolved: the checkpoint holds what it resolved to, the optimizer's state and the
/// schedule position). The options are held typed; only the engine's options are written (column names, paths and
/// callbacks belong to the run that reads them).</summary>
public sealed record ResumeState(string Data, string? Test, bool Strict, string Device,
    [property: JsonConverter(typeof(ResumeState.EngineOptionsJson))] TransferTrainOptions Options)
{
    /// <summary>--max-image-pixels as the run was given it.</summary>
    public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

    /// <summary>How the run reads a CSV of labelled images: --image-column and --label-column as it was given them.</summary>
    public CsvColumns Columns { get; init; } = CsvColumns.Default;

    /// <summary>--cache-dir as the run was given it (a full path; null: none): a resumed run reads the images it
    /// decoded there, unless it is given another, where it decoded them all again.</summary>
    public string? CacheDir { get; init; }

    /// <summary>The training images the run listed, as <see cref="Fingerprint"/> writes them; null in resume files
    /// written before it was kept (not checked then).</summary>
    public string? Images { get; init; }

    /// <summary>The listed images in order — path, class and size of each — as a count and a SHA-256: the held-out
    /// split, the validation split and every epoch's order follow from this list, so a resumed run must see it again.</summary>
    public static string Fingerprint(LabelledImageSet data)
    {
        var listing = string.Join("\n", data.Rows.Select(r => $"{r.ImagePath}\t{r.Label}\t{new FileInfo(Path.Combine(data.Root, r.ImagePath)).Length}"));
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(listing)));
        return $"{data.Rows.Count} images, sha256 {hash}";
    }

    /// <summary>Refuses a resume whose data lists other images than the interrupted run did.</summary>
    public void CheckSameImages(LabelledImageSet data)
    {
        if (Images is null) return;
        var now = Fingerprint(data);
        if (now != Images)
            throw new CliException(ExitCodes.BadModel,
                $"{Data}: the images differ from those the interrupted run trained on (then {Images.Split(',')[0]}, now " +
                $"{now.Split(',')[0]}; paths, classes or file sizes changed). A resumed run must see the same images — " +
                "put them back, or train again without --resume.");
    }

    public const string FileName = "resume.json";
    public const string CheckpointName = "checkpoint.zip";
    public const string StateName = "checkpoint.state";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    /// <summary>The record of a run; its paths absolute, so `train --resume` works from any working folder (a weights
    /// file named by a relative path too; an embedded name or "scratch" stays).</summary>
    public static ResumeState Of(string data, string? test, bool strict, string device, TransferTrainOptions options)
    {
        if (options.Weights is { } weights && File.Exists(weights) && !Path.IsPathRooted(weights)) options.Weights = Path.GetFullPath(weights);
        return new ResumeState(Path.GetFullPath(data), test == null ? null : Path.GetFullPath(test), strict, device, options)
        {
            MaxImagePixels = options.MaxImagePixels,
        };
    }

    /// <summary>Writes the engine's options (<see cref="FineTuneOptions"/>'s members) and reads them back as the
    /// estimator's options record.</summary>
    sealed class EngineOptionsJson : JsonConverter<TransferTrainOptions>
    {
        public override TransferTrainOptions Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize<TransferTrainOptions>(ref reader, options) ?? throw new JsonException("no options");

        public override void Write(Utf8JsonWriter writer, TransferTrainOptions value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value, typeof(FineTuneOptions), options);
    }

    public void Save(string folder, TrainingCheckpoint checkpoint)
    {
        checkpoint.Save(Path.Combine(folder, StateName));
        AtomicFile.Write(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));
    }

    /// <summary>The interrupted run in <paramref name="folder"/>: its record, its options (continuing from the partial
    /// model a cancelled run saved, when the checkpoint does not carry the network itself), and the checkpoint.</summary>
    public static (ResumeState State, TrainingCheckpoint Checkpoint) Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path) || !File.Exists(Path.Combine(folder, StateName)))
            throw new CliException(ExitCodes.BadModel, $"{folder}: nothing to resume (no {FileName} and {StateName}: a run keeps them when it is " +
                "interrupted, and at the end of an epoch every --checkpoint-every while it trains); run train without --resume.");
        try
        {
            var state = JsonSerializer.Deserialize<ResumeState>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
            if (state.Options is null) throw new JsonException("no options");
            (state.Options.MaxImagePixels, state.Options.FailOnUnreadableImages) = (state.MaxImagePixels, state.Strict);
            var checkpoint = TrainingCheckpoint.Load(Path.Combine(folder, StateName));
            if (checkpoint.Weights.Count == 0)
            {
                if (!File.Exists(Path.Combine(folder, CheckpointName)))
                    throw new CliException(ExitCodes.BadModel, $"{folder}: nothing to resume ({StateName} needs the partial model {CheckpointName} kept with it, which is gone); run train without --resume.");
                state.Options.ContinueFromModelPath = Path.Combine(folder, CheckpointName);
            }
            return (state, checkpoint);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
        {
            throw new CliException(ExitCodes.BadModel, $"{path}: not a resume file this version can read ({e.Message}); run train without --resume.");
        }
    }

    public static void Delete(string folder)
    {
        foreach (var name in new[] { FileName, CheckpointName, StateName }) File.Delete(Path.Combine(folder, name));
    }
}

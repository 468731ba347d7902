using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Data;

/// <summary>What an interrupted `train` leaves next to its checkpoint model so `train --resume` goes on where it
/// stopped: the data it read, and the run's options record as given (Auto unresolved: the checkpoint holds what it
/// resolved to, the optimizer's state and the schedule position).</summary>
public sealed record ResumeState(string Data, string? Test, bool Strict, string Device, JsonElement Options)
{
    public const string FileName = "resume.json";
    public const string CheckpointName = "checkpoint.zip";
    public const string StateName = "checkpoint.state";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    public static ResumeState Of(string data, string? test, bool strict, string device, FineTuneOptions options) =>
        new(data, test, strict, device, JsonSerializer.SerializeToElement(options, typeof(FineTuneOptions), Json));

    /// <summary>The saved options, as the estimator's options record.</summary>
    public TransferTrainOptions TransferTrainOptions() =>
        Options.Deserialize<TransferTrainOptions>(Json) ?? throw new JsonException("no options");

    public void Save(string folder, TrainingCheckpoint checkpoint)
    {
        checkpoint.Save(Path.Combine(folder, StateName));
        AtomicFile.Write(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this, Json));
    }

    public static (ResumeState State, TrainingCheckpoint Checkpoint) Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path) || !File.Exists(Path.Combine(folder, CheckpointName)) || !File.Exists(Path.Combine(folder, StateName)))
            throw new CliException(ExitCodes.BadModel, $"{folder}: nothing to resume (no {FileName}, {CheckpointName} and {StateName}); run train without --resume.");
        try
        {
            var state = JsonSerializer.Deserialize<ResumeState>(File.ReadAllText(path), Json) ?? throw new JsonException("empty");
            state.TransferTrainOptions(); // the options must read back
            return (state, TrainingCheckpoint.Load(Path.Combine(folder, StateName)));
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

using System.Text.Json;

namespace MlNetTransfer.Cli.Data;

/// <summary>What an interrupted `train` leaves next to its checkpoint so `train --resume` can go on where it stopped.</summary>
public sealed record ResumeState(string Data, string? Test, string Architecture, string? Weights, string Strategy, int Epochs,
    int EpochsDone, int BatchSize, double LearningRate, int? ImageSize, string Device, int Seed, bool Strict)
{
    public const string FileName = "resume.json";
    public const string CheckpointName = "checkpoint.zip";

    public void Save(string folder) => AtomicFile.Write(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this));

    public static ResumeState Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path) || !File.Exists(Path.Combine(folder, CheckpointName)))
            throw new CliException(ExitCodes.BadModel, $"{folder}: nothing to resume (no {FileName} and {CheckpointName}); run train without --resume.");
        return JsonSerializer.Deserialize<ResumeState>(File.ReadAllText(path))
               ?? throw new CliException(ExitCodes.BadModel, $"{path}: unreadable.");
    }
}

namespace MlNetTransfer.Engine.Jobs;

/// <summary>A job folder, or a file in it, is missing, of another format, or does not agree with itself (the trained
/// weights and the job's own check batch).</summary>
public sealed class JobFileException(string message) : Exception(message);

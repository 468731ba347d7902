using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Keeps the checkpoints a run hands over while it trains (<c>TransferTrainOptions.Checkpoint</c>) in its --out folder,
/// beside the run's record: the first of a run removes what an earlier interrupted run kept there (its record first,
/// so that no record pairs one run's options with another's weights), and each is written whole or not at all. A
/// checkpoint that cannot be written — the disk full, the folder taken away — is said once and training goes on: a
/// checkpoint is a safety net, worth less than the run it guards. Both are said through <paramref name="say"/>.
/// </summary>
public sealed class CheckpointKeeper(ResumeState run, string folder, Action<string> say)
{
    /// <summary>Whether this run has kept a checkpoint in the folder (an earlier run's files are gone then).</summary>
    public bool Kept => LastEpoch > 0;

    /// <summary>The epoch after which the last checkpoint kept was taken (0: none kept).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Why the last checkpoint could not be written; null when it was.</summary>
    public string? Failure { get; private set; }

    public void Keep(TrainingCheckpoint checkpoint)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            if (!Kept) ResumeState.Delete(folder);
            run.Save(folder, checkpoint);
            (Failure, LastEpoch) = (null, checkpoint.Epoch - 1);
            say($"checkpoint after epoch {LastEpoch} kept in {folder} ({clock.Elapsed.TotalSeconds:0.0} s)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            bool first = Failure == null;
            Failure = e is IOException io && Commands.CommandErrors.IsDiskFull(io) ? "the disk is full" : e.Message;
            if (first)
                say($"could not keep a checkpoint in {folder} ({Failure}); training goes on, and the next one is tried at the next interval " +
                     (Kept ? "(the one kept before stays)" : "(a run killed before one is kept starts again)"));
        }
    }
}

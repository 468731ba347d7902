using System.Globalization;
using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Cli.Commands;

/// <summary>--min-score of predict and evaluate: the top score from which an answer counts as sure
/// (<see cref="Reporting.SureAnswers"/>).</summary>
public static class MinScoreOption
{
    /// <summary>The start of the option's help; each command says what it does with it.</summary>
    public const string Help = "The top score from which an answer counts as sure (0 to 1): ";

    /// <summary><paramref name="minScore"/>, or the CLI's error for --min-score (exit 8) outside 0 to 1.</summary>
    public static double Check(double minScore) => minScore is >= 0 and <= 1 ? minScore
        : throw new CliException(ExitCodes.BadOption, $"--min-score: must be a score from 0 to 1 (such as 0.9), not {minScore.ToString(CultureInfo.InvariantCulture)}.");
}

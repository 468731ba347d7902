namespace MlNetTransfer.Tests;

/// <summary>What <c>mlnet-transfer info</c> prints in a process of its own, with the variables of
/// <paramref name="set"/> set and those of <paramref name="unset"/> removed from the environment it inherits: the
/// table's text with its borders and line breaks as single spaces, so a value the table wraps reads whole.</summary>
public static class CliInfo
{
    public static string Run(IEnumerable<string> unset, params (string Name, string Value)[] set)
    {
        var environment = unset.ToDictionary(name => name, _ => (string?)null);
        foreach (var (name, value) in set) environment[name] = value;
        var printed = ChildProcess.Run("dotnet", [TestPaths.Cli, "info"], TestPaths.RepositoryRoot, minutes: 1, environment).Stdout;
        return System.Text.RegularExpressions.Regex.Replace(printed.Replace('│', ' '), @"\s+", " ");
    }
}

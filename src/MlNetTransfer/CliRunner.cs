using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli;

/// <summary>The command table (<see cref="CliApp"/>) behind a check of the option values that Spectre would
/// otherwise refuse without naming the option (<see cref="OptionValues"/>).</summary>
public sealed class CliRunner(CommandApp app, IAnsiConsole console)
{
    public async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellation = default)
    {
        var list = StandardStreamValues(args.ToList());
        if (OptionValues.Problem(list) is { } problem)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(problem)}");
            return ExitCodes.BadOption;
        }
        return await app.RunAsync(list, cancellation);
    }

    public int Run(IEnumerable<string> args) => RunAsync(args).GetAwaiter().GetResult();

    /// <summary>Options that take no value in any command (bool properties; info's --json is a flag where evaluate's
    /// takes a path, so it is not one): a "-" after one of them is an argument.</summary>
    static readonly HashSet<string> Flags = FlagNames();

    static HashSet<string> FlagNames()
    {
        var options = typeof(CliRunner).Assembly.GetTypes()
            .Where(t => typeof(CommandSettings).IsAssignableFrom(t))
            .SelectMany(t => t.GetProperties())
            .SelectMany(p => p.GetCustomAttributes(typeof(CommandOptionAttribute), true).Cast<CommandOptionAttribute>()
                .SelectMany(o => o.LongNames.Select(n => (Name: "--" + n, Flag: p.PropertyType == typeof(bool)))))
            .ToList();
        var flags = options.Where(o => o.Flag).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        flags.ExceptWith(options.Where(o => !o.Flag).Select(o => o.Name));
        return flags;
    }

    /// <summary>"--json -" as "--json=-": Spectre reads a lone "-" as an option without a name, where scripts mean
    /// standard output, as every Unix tool does; and a lone "-" where an argument goes (predict's image) as standard
    /// input.</summary>
    static List<string> StandardStreamValues(List<string> args)
    {
        var joined = new List<string>(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "-" && joined.Count > 0 && joined[^1].StartsWith("--", StringComparison.Ordinal) && !joined[^1].Contains('=')
                && !Flags.Contains(joined[^1]))
                joined[^1] += "=-";
            else if (args[i] == "-") joined.Add(Commands.PredictCommand.StandardInput); // an argument: an image or a list of images on standard input
            else joined.Add(args[i]);
        }
        return joined;
    }
}

using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli;

/// <summary>The command table (<see cref="CliApp"/>) behind a check of the option values that Spectre would
/// otherwise refuse without naming the option (<see cref="OptionValues"/>).</summary>
public sealed class CliRunner(CommandApp app, IAnsiConsole console)
{
    public async Task<int> RunAsync(IEnumerable<string> args, CancellationToken cancellation = default)
    {
        var list = args.ToList();
        if (OptionValues.Problem(list) is { } problem)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(problem)}");
            return ExitCodes.BadOption;
        }
        return await app.RunAsync(list, cancellation);
    }

    public int Run(IEnumerable<string> args) => RunAsync(args).GetAwaiter().GetResult();
}

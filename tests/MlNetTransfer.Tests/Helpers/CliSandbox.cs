using MlNetTransfer.Cli;
using Spectre.Console;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A temp folder with 3 classes × 8 train and 3 test images from data-samples in folder-per-class layout,
/// and the CLI run in-process on a test console.</summary>
public abstract class CliSandbox : IDisposable
{
    protected static readonly string[] Classes = ["Bag", "Sneaker", "Trouser"];
    /// <summary>Options that make a run take about a second: the tiny network at 16 px, trained whole.</summary>
    protected const string Fast = "--arch tiny --weights scratch --image-size 16 --strategy RetrainAll --lr 0.01";
    protected readonly TempDirectory _temp = new();

    protected CliSandbox()
    {
        foreach (var (split, count) in new[] { ("train", 8), ("test", 3) })
            foreach (var c in Classes)
            {
                var target = Directory.CreateDirectory(Path.Combine(_temp.Path, split, c)).FullName;
                foreach (var file in Directory.GetFiles(Path.Combine(ImageRow.Root, split, c)).Order().Take(count))
                    File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
    }

    public void Dispose() => _temp.Dispose();

    protected string Train => Path.Combine(_temp.Path, "train");
    protected string Test => Path.Combine(_temp.Path, "test");
    protected string Out => Path.Combine(_temp.Path, "out");

    protected static int RunOn(IAnsiConsole console, string arguments, CancellationToken cancellation) =>
        CliApp.Create(console).RunAsync(arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries), cancellation).GetAwaiter().GetResult();

    /// <summary>The CLI on a test console, stopped when the test run is (the runner's cancellation).</summary>
    protected static (int Exit, string Output) Run(string arguments) => RunStoppedBy(TestContext.Current.CancellationToken, arguments);

    /// <summary>The CLI on a test console, stopped by <paramref name="cancellation"/>.</summary>
    protected static (int Exit, string Output) RunStoppedBy(CancellationToken cancellation, string arguments)
    {
        var console = new TestConsole().Width(250);
        int exit = RunOn(console, arguments, cancellation);
        return (exit, console.Output);
    }
}

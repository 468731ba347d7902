using MlNetTransfer.Cli;
using Spectre.Console;

// Ctrl+C asks training to stop after the current batch (a checkpoint is kept); a second Ctrl+C ends the process.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested) return;
    e.Cancel = true;
    interrupt.Cancel();
    Console.Error.WriteLine("stopping after the current batch... (Ctrl+C again to abort)");
};
return await CliApp.Create(AnsiConsole.Console).RunAsync(args, interrupt.Token);

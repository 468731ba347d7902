using System.Runtime.InteropServices;
using MlNetTransfer.Cli;
using Spectre.Console;

// Ctrl+C (SIGINT) and SIGTERM — what `docker stop`, Kubernetes and systemd send — ask training to stop after the
// current batch (a checkpoint is kept, exit code 130); a second Ctrl+C ends the process.
using var interrupt = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    if (interrupt.IsCancellationRequested) return;
    context.Cancel = true;
    interrupt.Cancel();
    Console.Error.WriteLine($"{context.Signal}: stopping after the current batch... (Ctrl+C again to abort)");
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await CliApp.Create(AnsiConsole.Console).RunAsync(args, interrupt.Token);

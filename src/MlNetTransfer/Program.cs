using System.Runtime.InteropServices;
using MlNetTransfer.Cli;
using Spectre.Console;

// Ctrl+C (SIGINT), SIGTERM — what `docker stop`, Kubernetes and systemd send — and SIGHUP — a closed terminal or SSH
// session — ask training to stop after the current batch (a checkpoint is kept, exit code 130); a second Ctrl+C ends
// the process.
ResilientWriter.Install(); // a terminal that hung up costs the output, not the run
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
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
return await CliApp.Create(LogConsole.For(Console.Out)).RunAsync(args, interrupt.Token);

using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A test console that presses Ctrl+C (cancels the token) once the output contains a given text: a CLI
/// run interrupted at a known point of training, not before it starts.</summary>
internal sealed class CancellingConsole(TestConsole inner, string trigger, CancellationTokenSource cancel) : TriggeredConsole(inner, trigger)
{
    protected override void Fire() => cancel.Cancel();
}

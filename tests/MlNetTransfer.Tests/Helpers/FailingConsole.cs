using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A test console that throws <paramref name="failure"/> once its output holds a given text: a run that
/// fails at a known point (the GPU out of memory at epoch 3).</summary>
internal sealed class FailingConsole(TestConsole inner, string trigger, Exception failure) : TriggeredConsole(inner, trigger)
{
    protected override void Fire() => throw failure;
}

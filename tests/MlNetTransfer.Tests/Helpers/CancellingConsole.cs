using Spectre.Console;
using Spectre.Console.Rendering;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A test console that presses Ctrl+C (cancels the token) once the output contains a given text: a CLI
/// run interrupted at a known point of training, not before it starts.</summary>
internal sealed class CancellingConsole(TestConsole inner, string trigger, CancellationTokenSource cancel) : IAnsiConsole
{
    public string Output => inner.Output;
    public Profile Profile => inner.Profile;
    public IAnsiConsoleCursor Cursor => inner.Cursor;
    public IAnsiConsoleInput Input => inner.Input;
    public IExclusivityMode ExclusivityMode => inner.ExclusivityMode;
    public RenderPipeline Pipeline => inner.Pipeline;
    public void Clear(bool home) => inner.Clear(home);
    public void WriteAnsi(Action<AnsiWriter> action) => inner.WriteAnsi(action);

    public void Write(IRenderable renderable)
    {
        inner.Write(renderable);
        if (!cancel.IsCancellationRequested && inner.Output.Contains(trigger)) cancel.Cancel();
    }
}

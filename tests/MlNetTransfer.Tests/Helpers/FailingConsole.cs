using Spectre.Console;
using Spectre.Console.Rendering;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A test console that throws <paramref name="failure"/> once, from the write after which its output holds
/// <paramref name="trigger"/>: a failure at a known point of a run (the progress view writes from inside Fit).</summary>
internal sealed class FailingConsole(TestConsole inner, string trigger, Exception failure) : IAnsiConsole
{
    bool _thrown;

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
        if (_thrown || !inner.Output.Contains(trigger)) return;
        _thrown = true;
        throw failure;
    }
}

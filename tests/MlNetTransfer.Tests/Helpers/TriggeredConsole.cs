using Spectre.Console;
using Spectre.Console.Rendering;
using Spectre.Console.Testing;

namespace MlNetTransfer.Tests;

/// <summary>A test console that acts once, from the write after which its output holds <paramref name="trigger"/>:
/// something done to a CLI run at a known point of it (the progress view writes from inside Fit).</summary>
internal abstract class TriggeredConsole(TestConsole inner, string trigger) : IAnsiConsole
{
    bool _fired;

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
        if (_fired || !inner.Output.Contains(trigger)) return;
        _fired = true;
        Fire();
    }

    /// <summary>What is done once the trigger is seen.</summary>
    protected abstract void Fire();
}

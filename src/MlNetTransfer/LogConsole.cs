using Spectre.Console;
using Spectre.Console.Rendering;

namespace MlNetTransfer.Cli;

/// <summary>
/// The CLI's console where its output is not a terminal — a file, a pipe, a CI log, `docker logs`, `nohup`. There
/// Spectre.Console knows no width and lays everything out in 80 columns, so an epoch's line, a strategy's reason or an
/// error message was cut mid-phrase (`lr 4e-9  24` / `img/s`) and neither grep nor a log viewer found it whole, and
/// predict's table broke every path into 14-character pieces. Here a line of text (Text, Markup, Paragraph) is written
/// whole, one line as printed, and tables and the help are laid out in <see cref="LogWidth"/> columns ($COLUMNS where
/// it is set), their cells wrapped inside them. On a terminal Spectre.Console's own console is used as it is
/// (<see cref="For"/>).
/// </summary>
public sealed class LogConsole : IAnsiConsole
{
    /// <summary>The columns tables and the help are laid out in where $COLUMNS does not say.</summary>
    public const int LogWidth = 160;

    /// <summary>The width a line of text is laid out in: wider than any line the CLI writes.</summary>
    const int TextWidth = 16_384;

    readonly IAnsiConsole _inner;
    readonly Lock _writing = new();

    /// <summary>Writes to <paramref name="inner"/>, laying tables out in <paramref name="width"/> columns.</summary>
    public LogConsole(IAnsiConsole inner, int width = LogWidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        _inner = inner;
        _inner.Profile.Width = width;
    }

    /// <summary>The console for <paramref name="writer"/> (standard output or error): Spectre.Console's own on a
    /// terminal, a <see cref="LogConsole"/> around it otherwise.</summary>
    public static IAnsiConsole For(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        if (console.Profile.Out.IsTerminal) return console;
        return new LogConsole(console, int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int columns) && columns > 0 ? columns : LogWidth);
    }

    /// <summary>Where a command's messages for people go: <paramref name="console"/>, or standard error when its standard
    /// output carries the data alone (<c>--json -</c>, <c>--csv -</c>) for a pipe.</summary>
    public static IAnsiConsole ForPeople(IAnsiConsole console, bool dataOnStandardOutput) =>
        dataOnStandardOutput ? For(Console.Error) : console;

    public Profile Profile => _inner.Profile;

    public IAnsiConsoleCursor Cursor => _inner.Cursor;

    public IAnsiConsoleInput Input => _inner.Input;

    public IExclusivityMode ExclusivityMode => _inner.ExclusivityMode;

    public RenderPipeline Pipeline => _inner.Pipeline;

    public void Clear(bool home) => _inner.Clear(home);

    public void WriteAnsi(Action<AnsiWriter> action) => _inner.WriteAnsi(action);

    public void Write(IRenderable renderable)
    {
        // the width is the profile's, shared by every writer: one write at a time (a worker's progress line waits)
        lock (_writing)
        {
            if (renderable is not (Text or Markup or Paragraph))
            {
                _inner.Write(renderable);
                return;
            }
            int width = _inner.Profile.Width;
            _inner.Profile.Width = TextWidth;
            try
            {
                _inner.Write(renderable);
            }
            finally
            {
                _inner.Profile.Width = width;
            }
        }
    }
}

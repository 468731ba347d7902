using System.Text;

namespace MlNetTransfer.Cli;

/// <summary>
/// Standard output or error on a terminal that may hang up mid-run (a closed SSH session or terminal window: the
/// kernel answers every later write with EIO; a pipe whose reader ended is already ignored by .NET). .NET turns such
/// a write into an IOException, and one thrown from a progress refresh or the last line of a run ended the process
/// with an abort — before the interrupted run's checkpoint was kept, or after it, with no exit code to tell. The first
/// failed write marks the terminal gone; it and every later write are dropped, so the run ends as it would have with
/// someone reading.
/// </summary>
public sealed class ResilientWriter(TextWriter inner) : TextWriter
{
    volatile bool _gone;

    public override Encoding Encoding => inner.Encoding;

    // TextWriter routes every other Write and WriteLine through these three
    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void Flush() => Guard(inner.Flush);

    void Guard(Action write)
    {
        if (_gone) return;
        try
        {
            write();
        }
        catch (IOException)
        {
            _gone = true;
        }
    }

    /// <summary>Puts standard output and error behind this writer (before any console is made of them: Spectre.Console
    /// knows a terminal by its writer being <see cref="Console.Out"/>).</summary>
    public static void Install()
    {
        Console.SetOut(new ResilientWriter(Console.Out));
        Console.SetError(new ResilientWriter(Console.Error));
    }
}

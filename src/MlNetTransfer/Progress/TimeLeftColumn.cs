using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Progress;

/// <summary>The time left of a progress bar. A task whose <see cref="ProgressTask.Tag"/> is a <see cref="Countdown"/>
/// (the epochs: <see cref="EpochEta"/>'s estimate at the last epoch's end) counts it down; any other shows Spectre's
/// estimate. Spectre's own column estimates the epochs from the bar's recent samples, which with epochs longer than
/// its 30-second window (most CPU runs) leaves it with nothing to go on.</summary>
public sealed class TimeLeftColumn : ProgressColumn
{
    /// <summary>Time left as estimated at <see cref="Stamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public sealed record Countdown(TimeSpan Left, long Stamp);

    protected override bool NoWrap => true;

    public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
    {
        TimeSpan? left = task.IsFinished ? TimeSpan.Zero
            : task.Tag is Countdown c ? TimeSpan.FromTicks(Math.Max((c.Left - Stopwatch.GetElapsedTime(c.Stamp)).Ticks, 0))
            : task.RemainingTime;
        return new Text(left is { } l && l < TimeSpan.FromDays(100) ? PhaseProgress.Clock(l) : "-:--", Color.Blue);
    }

    public override int? GetColumnWidth(RenderOptions options) => 8;
}

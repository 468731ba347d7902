using System.Diagnostics;
using MlNetTransfer.Engine.Training;
using Spectre.Console;

namespace MlNetTransfer.Cli.Progress;

/// <summary>Shows training as it happens: Spectre.Console progress bars for epochs and batches (loss, accuracy,
/// images/s, ETA) on an interactive terminal; one plain line per epoch when output is redirected (CI logs, files).</summary>
public sealed class TrainingProgressView(IAnsiConsole console)
{
    readonly Stopwatch _clock = new();
    readonly EpochEta _eta = new();

    public bool Interactive => console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="work"/>, handing it the progress and log callbacks to use; <paramref name="epochs"/>
    /// is the planned count until progress says otherwise.</summary>
    public T Run<T>(int epochs, Func<Action<TrainingProgress>, Action<string>, T> work)
    {
        _clock.Restart();
        if (!Interactive)
            return work(p =>
            {
                var eta = _eta.Observe(p, _clock.Elapsed.TotalSeconds);
                if (p.IsEpochEnd) console.WriteLine(Line(p, eta));
            }, message => console.WriteLine(message));

        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 24 }, new PercentageColumn(),
                new TimeLeftColumn(), new SpinnerColumn())
            .Start(context =>
            {
                // started at the first epoch's first batch (its time left is EpochEta's, as the plain lines'); a resumed
                // run's bar counts the epochs this process trains
                var epochTask = context.AddTask("epochs", autoStart: false, maxValue: epochs);
                ProgressTask? batchTask = null;
                int skipped = 0;
                var result = work(p =>
                {
                    if (!epochTask.IsStarted)
                    {
                        skipped = p.Epoch - 1;
                        epochTask.StartTask();
                    }
                    epochTask.MaxValue = p.Epochs - skipped; // Auto settles the epoch count (1 for the classifier alone) as it goes
                    var eta = _eta.Observe(p, _clock.Elapsed.TotalSeconds);
                    if (p.IsEpochEnd)
                    {
                        epochTask.Value = p.Epoch - skipped;
                        epochTask.Tag = eta is { } left ? new TimeLeftColumn.Countdown(left, Stopwatch.GetTimestamp()) : null;
                        epochTask.Description = Markup.Escape($"epoch {p.Epoch}/{p.Epochs} loss {p.Loss:0.00} acc {p.Accuracy:P0}" +
                                                              (p.ValidationAccuracy is { } va ? $" val {va:P0}" : ""));
                        if (batchTask != null)
                        {
                            // a fresh bar each epoch: one set back to 0 would count the drop into its speed
                            batchTask.HideWhenCompleted = true;
                            batchTask.Value = batchTask.MaxValue;
                            batchTask.StopTask();
                            batchTask = null;
                        }
                    }
                    else
                    {
                        batchTask ??= context.AddTask("batches", maxValue: p.Batches);
                        batchTask.MaxValue = p.Batches;
                        batchTask.Value = p.Batch!.Value;
                        batchTask.Description = Markup.Escape($"batch {p.Batch}/{p.Batches} loss {p.Loss:0.00} {p.ImagesPerSecond:0} img/s");
                    }
                }, message => console.MarkupLine(Markup.Escape(message)));
                epochTask.StopTask();
                batchTask?.StopTask();
                return result;
            });
    }

    /// <summary>One epoch's plain line; the time left once an epoch's length is known (<see cref="EpochEta"/>). A rate of
    /// 0 is the classifier solved rather than stepped (no rate to show: a training rate is positive).</summary>
    internal static string Line(TrainingProgress p, TimeSpan? eta)
    {
        var validation = p.ValidationLoss is { } vl ? $"  val_loss {vl:0.000}  val_acc {p.ValidationAccuracy:P1}" : "";
        var rate = p.LearningRate > 0 ? $"  lr {p.LearningRate:0.###e0}" : "";
        return $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:0.000}  acc {p.Accuracy:P1}{validation}{rate}  {p.ImagesPerSecond:0} img/s" + (eta is { } left ? $"  ETA {PhaseProgress.Clock(left)}" : "");
    }
}

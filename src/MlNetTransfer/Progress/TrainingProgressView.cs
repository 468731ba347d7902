using System.Diagnostics;
using MlNetTransfer.Engine.Training;
using Spectre.Console;

namespace MlNetTransfer.Cli.Progress;

/// <summary>Shows training as it happens: Spectre.Console progress bars for epochs and batches (loss, accuracy,
/// images/s, ETA) on an interactive terminal; one plain line per epoch when output is redirected (CI logs, files).</summary>
public sealed class TrainingProgressView(IAnsiConsole console)
{
    readonly Stopwatch _clock = new();

    public bool Interactive => console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="work"/>, handing it the progress and log callbacks to use; <paramref name="epochs"/>
    /// is the planned count until progress says otherwise.</summary>
    public T Run<T>(int epochs, Func<Action<TrainingProgress>, Action<string>, T> work)
    {
        _clock.Restart();
        if (!Interactive)
            return work(p => { if (p.IsEpochEnd) console.WriteLine(Line(p)); }, message => console.WriteLine(message));

        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 24 }, new PercentageColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var epochTask = context.AddTask("epochs", maxValue: epochs);
                ProgressTask? batchTask = null;
                var result = work(p =>
                {
                    batchTask ??= context.AddTask("batches", maxValue: p.Batches);
                    epochTask.MaxValue = p.Epochs; // Auto settles the epoch count (1 for the classifier alone) as it goes
                    if (p.IsEpochEnd)
                    {
                        epochTask.Value = p.Epoch;
                        epochTask.Description = Markup.Escape($"epoch {p.Epoch}/{p.Epochs} loss {p.Loss:0.00} acc {p.Accuracy:P0}" +
                                                              (p.ValidationAccuracy is { } va ? $" val {va:P0}" : ""));
                        batchTask.Value = 0;
                    }
                    else
                    {
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

    string Line(TrainingProgress p)
    {
        double done = (double)p.Epoch / p.Epochs;
        var eta = done > 0 ? TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds * (1 - done) / done) : TimeSpan.Zero;
        var validation = p.ValidationLoss is { } vl ? $"  val_loss {vl:0.000}  val_acc {p.ValidationAccuracy:P1}" : "";
        return $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:0.000}  acc {p.Accuracy:P1}{validation}  lr {p.LearningRate:0.###e0}  {p.ImagesPerSecond:0} img/s  ETA {eta:m\\:ss}";
    }
}

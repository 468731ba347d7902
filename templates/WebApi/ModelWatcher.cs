namespace WebApi;

/// <summary>Looks at the model's file every Model:WatchSeconds while the app runs, so that a new model written over it
/// is served (<see cref="ServedModel.ReloadIfChanged"/>); nothing with Model:WatchForChanges false. It looks rather than
/// waits for file-system events, which a bind mount, a network share or a Kubernetes volume may never send.</summary>
public sealed class ModelWatcher(ServedModel model, ModelSettings settings) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.WatchForChanges) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.WatchSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) model.ReloadIfChanged();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the app is stopping
        }
    }
}

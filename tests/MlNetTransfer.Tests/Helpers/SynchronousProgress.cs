namespace MlNetTransfer.Tests;

/// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the callback to run before Report returns.</summary>
sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

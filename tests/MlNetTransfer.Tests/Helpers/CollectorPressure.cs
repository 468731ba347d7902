namespace MlNetTransfer.Tests;

/// <summary>Three threads that allocate without pause until disposed, so the garbage collector runs (and finalizers
/// after it) while the test's thread is inside native calls: what frees a TorchSharp object that nothing holds.</summary>
internal sealed class CollectorPressure : IDisposable
{
    readonly List<Thread> _threads;
    bool _stop;

    public CollectorPressure()
    {
        _threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            var kept = new object[64];
            for (int i = 0; !Volatile.Read(ref _stop); i++) kept[i & 63] = new byte[2000];
        }) { IsBackground = true }).ToList();
        _threads.ForEach(t => t.Start());
    }

    public void Dispose()
    {
        Volatile.Write(ref _stop, true);
        _threads.ForEach(t => t.Join());
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Runtime;

/// <summary>
/// Holds every tensor this thread makes, from <see cref="Begin"/> to Dispose, so that none is freed while libtorch
/// reads it; then hands back those still alive as they would have been without it (to the dispose scope around it,
/// or to no scope), disposing none.
/// <para>
/// A TorchSharp tensor made outside any dispose scope lives as long as something references its managed wrapper.
/// A temporary in a chain (<c>labels.cpu().bincount(…)</c>, <c>x.narrow(…).contiguous()</c>) is referenced by
/// nothing once its handle is read, so a garbage collection that another thread starts during the native call can
/// run its finalizer and free the native tensor mid-operation: a segmentation fault or a hang (reproduced: such a
/// loop beside three allocating threads crashed the process within seconds; inside a dispose scope, a minute
/// without one) — what <see cref="HeldScalars"/> guards against for numbers. The recipe and the ML.NET adapter's
/// doors open one, so the whole of a run is held, what TorchSharp makes inside its own methods (module construction,
/// loads) included.
/// </para>
/// <para>
/// A held tensor that is disposed leaves the hold at once, so the hold keeps alive only what a run leaves to the
/// finalizer — mostly the second handles TorchSharp's constructors return, which own no memory (a ResNet-18 run's
/// peak RSS stays within 3 %); the tensors a run hands back (a trained network, features) leave it at the end, owned
/// by the caller as before.
/// </para>
/// </summary>
public sealed class HeldTensors : IDisposable
{
    readonly DisposeScope _scope;
    bool _ended;

    HeldTensors() => _scope = NewDisposeScope();

    /// <summary>Starts holding what this thread makes (loading libtorch first, as any use of it does).</summary>
    public static HeldTensors Begin()
    {
        TorchRuntime.EnsureLoaded();
        return new();
    }

    /// <summary>How many tensors the hold keeps alive now.</summary>
    public int Count => _scope.DisposablesCount;

    /// <summary>Hands what is still alive to the scope around (or to none) and ends the hold.</summary>
    public void Dispose()
    {
        if (_ended) return;
        _ended = true;
        _scope.MoveToOuter(_scope.DisposablesView);
        _scope.Dispose();
    }
}

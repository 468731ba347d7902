using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Runtime;

/// <summary>
/// Tensor arithmetic whose TorchSharp <see cref="Scalar"/>s live until libtorch has read them.
/// <para>
/// TorchSharp 0.107 turns numbers into Scalars implicitly — <c>t * 0.5</c>, <c>a + b</c> (an alpha of 1),
/// <c>add_(b)</c>, <c>clamp_min(1e-12)</c> — and leaves each to its finalizer. The JIT ends such a Scalar's life when
/// its handle is read, before the native call, so a garbage collection that another thread starts during the call
/// can finalize it and free the native Scalar while libtorch still reads it: "Expected false to be true" from
/// <c>c10::Scalar::toDouble</c> (reproduced in seconds with three threads allocating beside a loop of small
/// operations), or a wrong number. The project's analyzer (rule MNT0001) keeps the implicit forms out of this
/// repository's code; this class and <c>using var s = value.ToScalar();</c> are the held forms.
/// </para>
/// </summary>
public static class HeldScalars
{
    /// <summary>1, rooted for the process: the alpha of a plain addition.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary><paramref name="a"/> + <paramref name="b"/>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><paramref name="a"/> + <paramref name="k"/>.</summary>
    public static Tensor Plus(this Tensor a, double k)
    {
        using var held = k.ToScalar();
        return a.add(held, One);
    }

    /// <summary><paramref name="a"/> += <paramref name="b"/>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><paramref name="a"/>·<paramref name="k"/>.</summary>
    public static Tensor Times(this Tensor a, double k)
    {
        using var held = k.ToScalar();
        return a.mul(held);
    }

    /// <summary><paramref name="a"/> / <paramref name="k"/>.</summary>
    public static Tensor DividedBy(this Tensor a, double k)
    {
        using var held = k.ToScalar();
        return a.div(held);
    }

    /// <summary>1 − <paramref name="a"/>.</summary>
    public static Tensor OneMinus(this Tensor a) => a.neg().add_(One, One);

    /// <summary><paramref name="a"/> clamped below at <paramref name="minimum"/>.</summary>
    public static Tensor AtLeast(this Tensor a, double minimum)
    {
        using var held = minimum.ToScalar();
        return a.clamp_min(held);
    }

    /// <summary><paramref name="a"/> clamped to [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Tensor Clamped(this Tensor a, double minimum, double maximum)
    {
        using Scalar low = minimum.ToScalar(), high = maximum.ToScalar();
        return a.clamp(low, high);
    }

    /// <summary>Every <paramref name="step"/>th integer from <paramref name="start"/> up to <paramref name="stop"/>
    /// (exclusive), as <paramref name="type"/> (int64 when null) on the CPU.</summary>
    public static Tensor Range(long start, long stop, long step = 1, ScalarType? type = null)
    {
        using Scalar from = start.ToScalar(), to = stop.ToScalar(), by = step.ToScalar();
        return arange(from, to, by, dtype: type);
    }
}

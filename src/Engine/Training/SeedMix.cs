namespace MlNetTransfer.Engine.Training;

/// <summary>Seeds derived from a run's seed and a position in the run (epoch, batch), the same in every process
/// (unlike <see cref="HashCode"/>), so each epoch's shuffle and each batch's draws can be recreated on resume.</summary>
public static class SeedMix
{
    public static int Of(int seed, int a, int b = 0)
    {
        ulong x = (ulong)(uint)seed;
        x = Mix(x ^ (ulong)(uint)a * 0x9E3779B97F4A7C15UL);
        x = Mix(x ^ (ulong)(uint)b * 0xC2B2AE3D27D4EB4FUL);
        return (int)(x & 0x7FFFFFFF);
    }

    // SplitMix64's finaliser
    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

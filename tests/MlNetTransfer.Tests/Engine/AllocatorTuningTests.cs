using System.Runtime.InteropServices;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>The C allocator keeps freed training memory while a scope is open, and the scopes nest.</summary>
[Collection(TorchRandomCollection.Name)] // serial: the thresholds are process-wide
public class AllocatorTuningTests
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc")]
    static extern MallInfo2 mallinfo2();

    [DllImport("libc")]
    static extern IntPtr malloc(nuint size);

    [DllImport("libc")]
    static extern void free(IntPtr block);

    /// <summary>Bytes glibc holds in blocks it got from mmap for a single allocation.</summary>
    static long MappedBytes() => (long)mallinfo2().Hblkhd;

    [Fact]
    public void Inside_a_scope_a_block_over_glibcs_largest_mmap_threshold_comes_from_the_heap()
    {
        Assert.True(AllocatorTuning.IsEnabled, "this test machine runs glibc");
        const int size = 40 << 20; // over the 32 MB that glibc's adaptive threshold can reach: always mmapped by default
        using (AllocatorTuning.Begin())
        {
            long before = MappedBytes();
            var block = malloc(size);
            long during = MappedBytes();
            free(block);
            Assert.True(during - before < size, $"the 40 MB block was mmapped inside the scope ({(during - before) >> 20} MB more mapped)");
        }
        // (outside every scope glibc mmaps it again, but a test elsewhere may be training right then: not asserted)
    }

    /// <summary>Resident memory now, from /proc/self/statm.</summary>
    static long Resident() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;

    const int Block = 32 << 20;
    static readonly byte[] Ones = Enumerable.Repeat((byte)1, Block).ToArray();

    /// <summary>Takes <paramref name="bytes"/> in 32 MB blocks and touches every page: resident until disposed.</summary>
    static Held Hold(long bytes)
    {
        var blocks = new List<IntPtr>();
        for (long taken = 0; taken < bytes; taken += Block)
        {
            var b = malloc(Block);
            Assert.NotEqual(IntPtr.Zero, b);
            Marshal.Copy(Ones, 0, b, Block);
            blocks.Add(b);
        }
        return new Held(blocks);
    }

    sealed class Held(List<IntPtr> blocks) : IDisposable
    {
        public void Dispose() => blocks.ForEach(free);
    }

    [Fact]
    public void A_pass_keeps_its_steady_working_set_and_is_trimmed_only_when_it_grows_past_its_own_mark()
    {
        Assert.True(AllocatorTuning.IsEnabled, "this test machine runs glibc");
        const long margin = 256L << 20;
        static long Threshold(long mark) => mark + Math.Max(mark / 2, 512L << 20);
        using (AllocatorTuning.Begin())
        {
            AllocatorTuning.BeginPass();
            AllocatorTuning.Trim(); // a first pass (the feature pass) sets its mark at what the process holds now
            long first = Resident();

            // the next pass (training) holds more, steadily: more than the first pass's mark would let through
            AllocatorTuning.BeginPass();
            int trims = AllocatorTuning.TrimsDone;
            long steady = Threshold(first) - first + margin, held;
            using (Hold(steady))
            {
                held = Resident();
                Assert.True(held > Threshold(first), $"{held >> 20} MB resident, not past {Threshold(first) >> 20} MB");
                AllocatorTuning.Trim(); // the pass's first call sets its own mark
            }
            using (Hold(steady)) AllocatorTuning.Trim(); // another epoch of the same working set
            Assert.Equal(trims, AllocatorTuning.TrimsDone); // against the first pass's mark, both would have trimmed

            // growing past its own mark by half and 512 MB: given back
            using (Hold(Threshold(held) - first + margin))
            {
                Assert.True(Resident() > Threshold(held), $"{Resident() >> 20} MB resident, not past {Threshold(held) >> 20} MB");
                AllocatorTuning.Trim();
            }
            Assert.Equal(trims + 1, AllocatorTuning.TrimsDone);
        }
    }

    [Fact]
    public void Scopes_nest_and_a_second_dispose_changes_nothing()
    {
        int open = AllocatorTuning.OpenScopes;
        var outer = AllocatorTuning.Begin();
        var inner = AllocatorTuning.Begin();
        Assert.Equal(open + 2, AllocatorTuning.OpenScopes);
        inner.Dispose();
        inner.Dispose();
        Assert.Equal(open + 1, AllocatorTuning.OpenScopes);
        outer.Dispose();
        Assert.Equal(open, AllocatorTuning.OpenScopes);
    }

    [Fact]
    public void The_environment_variable_switches_it_off()
    {
        Environment.SetEnvironmentVariable(AllocatorTuning.EnvironmentVariable, "0");
        try
        {
            Assert.False(AllocatorTuning.IsEnabled);
            int open = AllocatorTuning.OpenScopes;
            using (AllocatorTuning.Begin()) Assert.Equal(open, AllocatorTuning.OpenScopes);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AllocatorTuning.EnvironmentVariable, null);
        }
        Assert.True(AllocatorTuning.IsEnabled);
    }
}

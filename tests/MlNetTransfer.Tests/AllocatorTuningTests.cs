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

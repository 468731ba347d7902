using System.Runtime.InteropServices;
using System.Text;
using MlNetTransfer.Native;

namespace MlNetTransfer.Tests;

/// <summary>The ELF edit, on copies of the real libLibTorchSharp.so: which bytes change, and that nothing else does.</summary>
public class LibTorchSharpCompatTests
{
    static byte[] Stock() => File.ReadAllBytes(TestPaths.StockLibTorchSharp);

    [Fact]
    public void Stock_library_needs_glibcxx_3_4_32_and_gets_exactly_three_edits()
    {
        var analysis = LibTorchSharpCompat.Analyze(Stock(), "stock");

        Assert.Equal(LibTorchSharpCompatState.Stock, analysis.State);
        Assert.Collection(analysis.Edits,
            flags =>
            {
                Assert.StartsWith("vna_flags", flags.What);
                Assert.Equal(new byte[] { 0, 0 }, flags.Before);
                Assert.Equal(new byte[] { 2, 0 }, flags.After); // VER_FLG_WEAK
            },
            versym =>
            {
                Assert.StartsWith(".gnu.version", versym.What);
                Assert.Equal(new byte[] { 1, 0 }, versym.After); // VER_NDX_GLOBAL
                Assert.NotEqual(versym.Before, versym.After);
            },
            name =>
            {
                Assert.StartsWith(".dynstr", name.What);
                Assert.Equal(LibTorchSharpCompat.RequiredSymbol + "\0", Encoding.ASCII.GetString(name.Before));
                Assert.StartsWith(LibTorchSharpCompat.ReplacementSymbol + "\0", Encoding.ASCII.GetString(name.After));
                Assert.Equal(name.Before.Length, name.After.Length);
            });
    }

    [Fact]
    public void Apply_changes_only_the_edited_bytes_and_leaves_the_input_untouched()
    {
        var stock = Stock();
        var pristine = (byte[])stock.Clone();

        var patched = LibTorchSharpCompat.Apply(stock, "copy", out var analysis);

        Assert.Equal(pristine, stock);
        Assert.Equal(stock.Length, patched.Length);
        var edited = analysis.Edits.SelectMany(e => Enumerable.Range((int)e.Offset, e.After.Length)).ToHashSet();
        var changed = Enumerable.Range(0, stock.Length).Where(i => stock[i] != patched[i]).ToList();
        Assert.NotEmpty(changed);
        Assert.All(changed, i => Assert.Contains(i, edited));
        foreach (var edit in analysis.Edits)
            Assert.Equal(edit.After, patched.AsSpan((int)edit.Offset, edit.After.Length).ToArray());
    }

    [Fact]
    public void Patched_library_reads_as_applied_and_a_second_apply_changes_nothing()
    {
        var patched = LibTorchSharpCompat.Apply(Stock(), "copy", out _);

        var again = LibTorchSharpCompat.Apply(patched, "copy", out var analysis);

        Assert.Equal(LibTorchSharpCompatState.Applied, analysis.State);
        Assert.Empty(analysis.Edits);
        Assert.Same(patched, again);
    }

    [Fact]
    public void A_library_that_asks_for_no_glibcxx_3_4_32_is_left_alone()
    {
        // libtorch's own c10 was built against an older libstdc++.
        var c10 = File.ReadAllBytes(TestPaths.NuGetLibrary("libtorch-cpu-linux-x64", "2.10.0", "libc10.so"));

        var result = LibTorchSharpCompat.Apply(c10, "libc10.so", out var analysis);

        Assert.Equal(LibTorchSharpCompatState.NotNeeded, analysis.State);
        Assert.Same(c10, result);
    }

    [Fact]
    public void ApplyToFile_replaces_atomically_keeps_the_timestamp_and_never_writes_through_a_hard_link()
    {
        using var temp = new TempDirectory();
        var original = temp.File("cache-libLibTorchSharp.so");
        var output = temp.File("libLibTorchSharp.so");
        File.Copy(TestPaths.StockLibTorchSharp, original);
        Assert.Equal(0, link(original, output)); // output shares the cache file's inode, as a hard-linked copy would
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(output, stamp);

        var analysis = LibTorchSharpCompat.ApplyToFile(output);

        Assert.Equal(LibTorchSharpCompatState.Stock, analysis.State);
        Assert.Equal(LibTorchSharpCompatState.Applied, LibTorchSharpCompat.Inspect(output));
        Assert.Equal(LibTorchSharpCompatState.Stock, LibTorchSharpCompat.Inspect(original));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(output));
        Assert.Equal(new[] { original, output }.Order(), Directory.GetFiles(temp.Path).Order()); // no temp file left
    }

    [Fact]
    public void Build_output_copy_is_patched_exactly_when_the_system_lacks_the_version()
    {
        var systemHasIt = SystemLibStdCpp.HasRequiredVersion(out _);

        var state = LibTorchSharpCompat.Inspect(TestPaths.OutputLibTorchSharp);

        Assert.Equal(systemHasIt ? LibTorchSharpCompatState.Stock : LibTorchSharpCompatState.Applied, state);
        Assert.Equal(LibTorchSharpCompatState.Stock, LibTorchSharpCompat.Inspect(TestPaths.StockLibTorchSharp));
    }

    [Theory]
    [InlineData("auto", false, true)]
    [InlineData("auto", true, false)] // a system that has GLIBCXX_3.4.32: the build does nothing
    [InlineData("true", true, true)]  // building on a newer system for an older one
    [InlineData("false", false, false)]
    public void The_build_edits_only_when_wanted(string mode, bool systemHasVersion, bool expected)
    {
        Assert.Equal(expected, LibTorchSharpCompat.IsWanted(mode, systemHasVersion));
    }

    [Fact]
    public void An_unknown_mode_names_the_property()
    {
        var e = Assert.Throws<ArgumentException>(() => LibTorchSharpCompat.IsWanted("maybe", false));

        Assert.Contains("MlNetTransferPatchLibTorchSharp", e.Message);
    }

    [Fact]
    public void System_libstdcpp_is_found_and_its_versions_are_read()
    {
        var path = SystemLibStdCpp.Locate();

        Assert.NotNull(path);
        var versions = SystemLibStdCpp.DefinedVersions(path);
        Assert.Contains("GLIBCXX_3.4.21", versions); // every libstdc++ since GCC 5
        Assert.Equal(versions.Contains(LibTorchSharpCompat.RequiredVersion), SystemLibStdCpp.HasRequiredVersion(out _));
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 }, "not an ELF file")]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1 }, "not an ELF file")] // too short
    public void Non_elf_input_is_refused_with_the_file_name(byte[] bytes, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => LibTorchSharpCompat.Analyze(bytes, "/some/dir/libBroken.so"));

        Assert.Contains("/some/dir/libBroken.so", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_32_bit_elf_header_is_refused()
    {
        var bytes = new byte[128];
        new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1 }.CopyTo(bytes, 0);

        var e = Assert.Throws<InvalidDataException>(() => LibTorchSharpCompat.Analyze(bytes, "lib32.so"));

        Assert.Contains("64-bit little-endian", e.Message);
    }

    [Fact]
    public void A_truncated_library_is_refused_not_misread()
    {
        var truncated = Stock().AsSpan(0, 4096).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => LibTorchSharpCompat.Analyze(truncated, "cut.so"));

        Assert.Contains("cut.so", e.Message);
    }

    [DllImport("libc", SetLastError = true)]
    static extern int link(string existing, string created);
}

using System.IO.Compression;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>A torch.save checkpoint's pickle is checked against its archive before TorchSharp.PyBridge reads it, which
/// allocates what the pickle claims: a storage count larger than its archive entry (PyBridge allocated 1.9 GB for a
/// damaged one before refusing it) and a shape with more elements than its storage (libtorch was asked for 40 GB) are
/// refused by tensor, with nothing allocated; checkpoints PyTorch writes read as before.</summary>
public class TorchCheckpointClaimsTests
{
    public TorchCheckpointClaimsTests() => TorchRuntime.EnsureLoaded();

    /// <summary>A copy of tiny.pth whose first storage claims <paramref name="elements"/> elements (216 in the fixture).</summary>
    static string WithStorageCount(TempDirectory folder, int elements)
    {
        var path = folder.File("claims.pth");
        File.Copy(TestPaths.Fixture("tiny.pth"), path);
        using var archive = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = archive.Entries.Single(e => e.FullName.EndsWith("data.pkl"));
        byte[] pickle;
        using (var stream = entry.Open()) { using var copy = new MemoryStream(); stream.CopyTo(copy); pickle = copy.ToArray(); }
        byte[] cpu = [(byte)'X', 3, 0, 0, 0, (byte)'c', (byte)'p', (byte)'u', (byte)'q'];
        int at = pickle.AsSpan().IndexOf(cpu) + cpu.Length + 1; // past the BINPUT's memo index: BININT1 216
        Assert.Equal([(byte)'K', 216], pickle[at..(at + 2)]);
        byte[] patched = [.. pickle[..at], (byte)'J', .. BitConverter.GetBytes(elements), .. pickle[(at + 2)..]];
        entry.Delete();
        using (var stream = archive.CreateEntry(entry.FullName).Open()) stream.Write(patched);
        return path;
    }

    [Fact]
    public void A_storage_that_claims_more_than_its_archive_entry_is_refused_before_anything_is_allocated()
    {
        using var folder = new TempDirectory();
        var damaged = WithStorageCount(folder, 0x7FFF_FF00);
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var refused = Assert.Throws<WeightsFileException>(() => StateDictFile.Read(damaged));

        Assert.Contains("claims 2147483392 FloatStorage elements (8589933568 bytes) where the archive holds 864 bytes", refused.Message);
        Assert.Contains("nothing was loaded", refused.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 16 << 20, "nothing the size of the claim was allocated");
        Assert.Null(TorchCheckpointClaims.Problem(TestPaths.Fixture("tiny.pth")));
        var whole = StateDictFile.Read(TestPaths.Fixture("tiny.pth")); // the fixture as PyTorch wrote it
        Assert.NotEmpty(whole);
        foreach (var t in whole.Values) t.Dispose();
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Checkpoints_pytorch_writes_read_and_a_shape_larger_than_its_storage_is_refused_by_name()
    {
        using var folder = new TempDirectory();
        var (exit, output) = PyTorchProcess.Code(
            "import torch; m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 2)); " +
            "torch.save(m.state_dict(), 'module.pth'); t = torch.arange(12.).view(3, 4); torch.save({'whole': t, 'row': t[1]}, 'views.pth'); " +
            "torch.save({'fc.weight': torch.ones(1).as_strided((100000, 100000), (0, 0))}, 'expanded.pth')", folder.Path);
        Assert.True(exit == 0, output);

        Assert.Null(TorchCheckpointClaims.Problem(folder.File("module.pth"))); // an OrderedDict with its _metadata
        Assert.Null(TorchCheckpointClaims.Problem(folder.File("views.pth")));  // two tensors over one storage
        var module = StateDictFile.Read(folder.File("module.pth"));
        Assert.Equal(["0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "3.bias", "3.weight"], module.Keys.Order());
        var expanded = Assert.Throws<WeightsFileException>(() => StateDictFile.Read(folder.File("expanded.pth")));
        Assert.Contains("tensor 'fc.weight' claims the shape [100000, 100000] (10000000000 elements) over a storage of 1", expanded.Message);
        Assert.Contains("save tensor.contiguous()", expanded.Message);
        foreach (var t in module.Values) t.Dispose();
    }
}

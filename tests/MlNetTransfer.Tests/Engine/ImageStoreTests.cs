using MlNetTransfer.Engine.Data;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The file-backed store of decoded images: written in parallel, read by record in any order, shared by
/// index views, deleted with its last view, and a full disk named.</summary>
public class ImageStoreTests
{
    public ImageStoreTests() => TorchRuntime.EnsureLoaded();

    static byte[] Record(int side, int seed)
    {
        var bytes = new byte[3 * side * side];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A store in <paramref name="temp"/> with records 0 … count−1 written in order.</summary>
    static FileImageStore StoreOf(TempDirectory temp, int side, int count)
    {
        var store = FileImageStore.Create(temp.File("images.u8"), side);
        for (int i = 0; i < count; i++) store.Write(i, Record(side, i));
        return store;
    }

    [Fact]
    public void Records_written_in_parallel_and_out_of_order_read_back_in_any_order()
    {
        using var temp = new TempDirectory();
        const int side = 8, count = 200;
        var store = FileImageStore.Create(temp.File("images.u8"), side);
        Parallel.For(0, count, i => store.Write(count - 1 - i, Record(side, count - 1 - i)));
        Assert.Equal(count, store.Count);

        long[] order = [17, 3, 4, 5, 199, 0, 3];
        using var batch = store.Gather(order);

        Assert.Equal(new long[] { order.Length, 3, side, side }, batch.shape);
        var bytes = batch.data<byte>().ToArray();
        for (int i = 0; i < order.Length; i++)
            Assert.Equal(Record(side, (int)order[i]), bytes[(i * 3 * side * side)..((i + 1) * 3 * side * side)]);
        store.Release();
    }

    [Fact]
    public void Views_share_the_store_and_the_file_goes_with_the_last_one()
    {
        using var temp = new TempDirectory();
        const int side = 4;
        var store = StoreOf(temp, side, 6);
        var all = new ImageTensorDataset(store, [5, 4, 3, 2, 1, 0], tensor(new long[] { 0, 1, 0, 1, 0, 1 }), ["a", "b"]);
        var odd = all.Subset([1, 3, 5]);

        all.Dispose();
        Assert.True(File.Exists(store.FilePath), "the subset still reads the store");
        using (var rows = odd.Slice(0, 3))
            Assert.Equal(Record(side, 4), rows.data<byte>().ToArray()[..(3 * side * side)]); // row 1 of all is record 4
        Assert.Equal(new long[] { 1, 1, 1 }, odd.Labels.data<long>().ToArray());

        odd.Dispose();
        Assert.False(File.Exists(store.FilePath), "the last view deletes the file");
    }

    [Fact]
    public void A_copy_for_the_device_gathers_the_same_batches_in_the_same_row_order()
    {
        using var temp = new TempDirectory();
        const int side = 6;
        var store = StoreOf(temp, side, 300);
        using var all = new ImageTensorDataset(store, Enumerable.Range(0, 300).Select(i => 299L - i).ToArray(), tensor(Enumerable.Range(0, 300).Select(i => (long)(i % 3)).ToArray()), ["a", "b", "c"]);
        using var subset = all.Subset([5, 290, 17, 3]);

        using var copy = subset.ToDevice(CPU, chunk: 3); // the loop does this for a GPU; the copy is the same on any device
        long[] rows = [3, 0, 2, 2];
        using var expected = subset.Gather(rows);
        using var actual = copy.Gather(rows);

        Assert.True(expected.equal(actual).all().item<bool>(), "the device copy holds other pixels");
        Assert.Equal(subset.Labels.data<long>().ToArray(), copy.Labels.data<long>().ToArray());
        Assert.Equal(4 * 3L * side * side, copy.Bytes);
    }

    [Fact]
    public void A_full_disk_is_an_error_that_names_the_folder_and_the_way_out()
    {
        if (!File.Exists("/dev/full")) return; // Linux's always-full device gives the real ENOSPC
        using var handle = File.OpenHandle("/dev/full", FileMode.Open, FileAccess.ReadWrite);
        var store = FileImageStore.Over(handle, "/var/cache/images/images.u8", 8);

        var error = Assert.Throws<IOException>(() => store.Write(0, Record(8, 0)));

        Assert.Contains("/var/cache/images", error.Message);
        Assert.Contains("the disk is full", error.Message);
        Assert.Contains("--cache-dir", error.Message);
    }

    [Fact]
    public void A_kept_store_opens_only_at_its_exact_size()
    {
        using var temp = new TempDirectory();
        var store = StoreOf(temp, 4, 3);
        store.Keep();
        store.Release();

        var reopened = FileImageStore.Open(temp.File("images.u8"), 4, 3);
        using (var first = reopened.Gather([2])) Assert.Equal(Record(4, 2), first.data<byte>().ToArray());
        reopened.Release();
        Assert.True(File.Exists(temp.File("images.u8")), "a kept store stays");
        var wrong = Assert.Throws<InvalidDataException>(() => FileImageStore.Open(temp.File("images.u8"), 4, 4));
        Assert.Contains("4 images at 4 px", wrong.Message);
    }

    [Fact]
    public void A_store_left_by_a_killed_process_is_removed_by_the_next_run()
    {
        using var temp = new TempDirectory();
        var dead = temp.File($"mlnettransfer-{DeadPid()}-{Guid.NewGuid():N}.images");
        File.WriteAllBytes(dead, new byte[48]);
        var mine = FileImageStore.Create(temp.File(StaleFiles.ImageStoreFileName()), 4);

        var removed = StaleFiles.Clean(temp.Path);

        Assert.Equal(dead, Assert.Single(removed));
        Assert.True(File.Exists(mine.FilePath), "a running process's store stays");
        mine.Release();
    }

    static int DeadPid()
    {
        for (int pid = 4_000_000; ; pid--)
            try { System.Diagnostics.Process.GetProcessById(pid).Dispose(); }
            catch (ArgumentException) { return pid; }
    }

    [Fact]
    public void Gather_refuses_a_record_that_was_never_written()
    {
        using var temp = new TempDirectory();
        var store = StoreOf(temp, 4, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Gather([1]));
        store.Release();
    }

}

using MlNetTransfer.Imaging;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>The memory the process's decodes hold at once: decodes that would pass the budget wait their turn, one
/// alone proceeds up to half the memory the process may use, a wait can be cancelled — so a run of large pictures
/// decoded on every core, or a burst of small files that claim large pictures, stays within it, and a process with
/// little memory refuses the picture that would kill it. And what a decode takes: a progressive JPEG's coefficients
/// counted from its frame header.</summary>
public class DecodeBudgetTests
{
    [Fact]
    public void Decodes_that_would_pass_the_budget_wait_and_one_alone_always_proceeds()
    {
        var budget = new DecodeBudget(1000);
        using (budget.Take(5000, TestContext.Current.CancellationToken)) { } // over the limit, but alone
        Assert.Equal(5000, budget.HighWater);

        budget = new DecodeBudget(1000);
        int inside = 0, most = 0;
        var threads = Enumerable.Range(0, 6).Select(_ => new Thread(() =>
        {
            using (budget.Take(400, TestContext.Current.CancellationToken))
            {
                int now = Interlocked.Increment(ref inside);
                InterlockedMax(ref most, now);
                Thread.Sleep(50);
                Interlocked.Decrement(ref inside);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(2, most); // 3 × 400 would pass 1000
        Assert.Equal(800, budget.HighWater);
    }

    [Theory]
    [InlineData(24L << 30, 1L << 30, 12L << 30)]       // a machine's 24 GB: 1 GiB at once, anything within the pixel limit alone
    [InlineData(768L << 20, 192L << 20, 384L << 20)]   // a container limited to 1 GiB (.NET counts 3/4 of it)
    public void The_shared_budget_is_sized_from_the_memory_the_process_may_use(long memory, long limit, long alone)
    {
        var budget = DecodeBudget.ForMemory(memory);
        Assert.Equal((limit, alone), (budget.LimitBytes, budget.AloneBytes));
        var twin = WebApi.DecodeBudget.ForMemory(memory);
        Assert.Equal((limit, alone), (twin.LimitBytes, twin.AloneBytes));
        Assert.Equal(1000, WebApi.DecodeBudget.ForMemory(memory, limitBytes: 1000).LimitBytes); // Model:MaxDecodeBytes
        Assert.Null(budget.Refuses(alone));
        Assert.Equal(budget.Refuses(alone + 1), twin.Refuses(alone + 1));
        Assert.Equal(long.MaxValue, new DecodeBudget(1000).AloneBytes);
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, DecodeBudget.Shared.AloneBytes);
    }

    [Fact]
    public void A_picture_that_needs_more_than_one_decode_may_take_is_refused_by_name_before_any_pixel()
    {
        using var folder = new TempDirectory();
        var png = folder.File("large.png");
        HostileImages.WriteBlankGreyPng(png, 6000); // 0.1 MB on disk, 137 MB decoded
        var budget = DecodeBudget.ForMemory(256L << 20);
        using (var stream = File.OpenRead(png))
        using (var refused = ImageDecoder.Decode(stream, 64, ImageDecoder.DefaultMaxPixels, budget))
        {
            Assert.Null(refused.Bitmap);
            Assert.Equal("6000×6000 pixels needs 137 MB to decode, more than one image may take in this process (128 MB: half the 256 MB it may use)", refused.Problem);
        }
        Assert.Equal(0, budget.HighWater);
        using (var stream = File.OpenRead(png))
        using (var decoded = ImageDecoder.Decode(stream, 64, ImageDecoder.DefaultMaxPixels, DecodeBudget.ForMemory(1L << 30)))
            Assert.Equal(94, decoded.Bitmap!.Width); // within half of 1 GiB it decodes: 6000 / 64, the edge box partial
    }

    [Fact]
    public void A_wait_ends_when_its_token_is_cancelled_and_leaves_the_budget_usable()
    {
        var budget = new DecodeBudget(1000);
        var held = budget.Take(800, TestContext.Current.CancellationToken);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        Assert.ThrowsAny<OperationCanceledException>(() => budget.Take(800, cancel.Token));
        held.Dispose();
        held.Dispose(); // a lease returns its bytes once
        using (budget.Take(1000, TestContext.Current.CancellationToken)) Assert.Equal(1000, budget.HighWater);
    }

    [Fact]
    public void Large_pictures_decoded_on_several_threads_hold_no_more_than_the_budget()
    {
        using var folder = new TempDirectory();
        var png = folder.File("large.png");
        HostileImages.WriteBlankGreyPng(png, 2000); // a few KB on disk, 16 MB decoded
        var budget = new DecodeBudget(20_000_000);   // room for one at a time
        var sides = new int[6];
        Parallel.For(0, sides.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i =>
        {
            using var stream = File.OpenRead(png);
            using var decoded = ImageDecoder.Decode(stream, 64, ImageDecoder.DefaultMaxPixels, budget);
            sides[i] = decoded.Bitmap!.Width;
        });
        Assert.All(sides, side => Assert.Equal(125, side)); // 2000 / 16: reduced as soon as decoded
        Assert.InRange(budget.HighWater, 16_000_000, 20_000_000);
    }

    [Theory]
    [InlineData("progressive-420.jpg", (15 * 10 + 2 * 8 * 5) * 64 * 2, 90 * 64 * 2)] // Y 15 × 10 blocks, Cb and Cr 8 × 5; libjpeg pads
    [InlineData("progressive-444.jpg", 3 * 15 * 10 * 64 * 2, 80 * 64 * 2)]
    public void A_progressive_jpeg_counts_its_coefficients_and_a_sequential_one_none(string fixture, long least, long slack)
    {
        // made by Pillow: Image.linear_gradient('L').resize((120, 80)).convert('RGB').save(name, quality=90,
        // progressive=True, subsampling=2 or 0)
        var bytes = File.ReadAllBytes(TestPaths.Fixture(fixture));
        Assert.InRange(JpegFrame.CoefficientBytes(bytes)!.Value, least, least + slack);

        using var bitmap = new SKBitmap(new SKImageInfo(120, 80, SKColorType.Bgra8888, SKAlphaType.Opaque));
        using var sequential = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Jpeg, 90);
        Assert.Equal(0, JpegFrame.CoefficientBytes(sequential.ToArray()));
        Assert.Null(JpegFrame.CoefficientBytes(bytes.AsSpan(0, 20))); // the frame header is not in these bytes
        Assert.Null(JpegFrame.CoefficientBytes("not a JPEG"u8));

        using var codec = SKCodec.Create(new MemoryStream(bytes));
        var plan = DecodePlan.For(codec, 32, JpegFrame.CoefficientBytes(bytes));
        Assert.Equal(plan.Decoded.Width * plan.Decoded.Height * 4 + JpegFrame.CoefficientBytes(bytes), plan.Bytes);
    }

    static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}

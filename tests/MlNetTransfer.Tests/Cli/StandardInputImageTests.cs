using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Tests;

/// <summary>`predict -` copies standard input with a file's checks made while the bytes arrive: a stream that is no
/// image, or no image within --max-image-pixels, is refused before it can fill the disk; an image goes through whole.</summary>
public class StandardInputImageTests
{
    /// <summary>A pipe that never ends: <paramref name="start"/>, then zeros for ever; counts what was read.</summary>
    sealed class EndlessPipe(byte[] start) : Stream
    {
        public long Served { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++) buffer[offset + i] = Served + i < start.Length ? start[Served + i] : (byte)0;
            Served += count;
            return count;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Served; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    static (CliException Error, long Served, long Written) Refused(byte[] start, long maxPixels)
    {
        using var temp = new TempDirectory();
        var pipe = new EndlessPipe(start);
        var path = temp.File("standard-input");
        var error = Assert.Throws<CliException>(() => StandardInputImage.Copy(pipe, path, maxPixels));
        return (error, pipe.Served, new FileInfo(path).Length);
    }

    [Fact]
    public void Zeros_for_ever_are_refused_after_the_first_64_KiB_as_no_image_format()
    {
        var (error, served, _) = Refused([], 178_956_970);

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.Contains("start like no image format", error.Message);
        Assert.InRange(served, StandardInputImage.HeadBytes, StandardInputImage.HeadBytes + 81_920);
    }

    [Fact]
    public void A_header_over_the_pixel_limit_is_refused_from_the_header_with_the_pixel_count()
    {
        var (error, served, _) = Refused(HostileImages.PngHeaderOnly(50_000, 50_000), 178_956_970);

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.Contains("50000×50000 pixels", error.Message);
        Assert.InRange(served, StandardInputImage.HeadBytes, StandardInputImage.HeadBytes + 81_920);
    }

    [Fact]
    public void An_image_header_followed_by_endless_bytes_is_cut_off_past_what_the_pixel_limit_allows()
    {
        // a 10 × 10 BMP's header, then zeros: an image, within the limit, that never ends
        byte[] bmp = [.. "BM"u8, .. BitConverter.GetBytes(454), 0, 0, 0, 0, .. BitConverter.GetBytes(54), .. BitConverter.GetBytes(40),
            .. BitConverter.GetBytes(10), .. BitConverter.GetBytes(10), 1, 0, 32, 0, .. new byte[24]];

        var (error, served, written) = Refused(bmp, maxPixels: 100);

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.Contains("goes on past 16.8 MB", error.Message);
        Assert.InRange(served, StandardInputImage.MaxBytes(100), StandardInputImage.MaxBytes(100) + 81_920);
        Assert.True(written <= StandardInputImage.MaxBytes(100));
    }

    [Fact]
    public void A_photo_longer_than_the_judged_start_and_a_short_stream_go_through_whole()
    {
        using var temp = new TempDirectory();
        var random = new Random(1);
        using var noise = new SkiaSharp.SKBitmap(400, 400);
        for (int y = 0; y < 400; y++)
            for (int x = 0; x < 400; x++) noise.SetPixel(x, y, new SkiaSharp.SKColor((uint)random.Next() | 0xFF000000));
        var photo = File.ReadAllBytes(TurnedJpegs.Save(noise, temp.File("photo.jpg"), orientation: 1));
        Assert.True(photo.Length > StandardInputImage.HeadBytes);

        foreach (var bytes in new[] { photo, "not an image"u8.ToArray() }) // the decoder judges a short stream whole, as a file
        {
            var path = temp.File("standard-input");
            StandardInputImage.Copy(new MemoryStream(bytes), path, 178_956_970);
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
    }
}

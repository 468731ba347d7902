using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Tests;

/// <summary>`predict -` copies standard input with a file's checks made while the bytes arrive: a stream that is no
/// image, or no image within --max-image-pixels, and no list of images either, is refused before it can fill the
/// disk; an image goes through whole, and so does text, as a list of images.</summary>
public class StandardInputCopyTests
{
    /// <summary>A pipe that never ends: <paramref name="start"/>, then <paramref name="tail"/> (zeros) over and over;
    /// counts what was read.</summary>
    sealed class EndlessPipe(byte[] start, byte[]? tail = null) : Stream
    {
        readonly byte[] _tail = tail ?? [0];
        public long Served { get; private set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++)
                buffer[offset + i] = Served + i < start.Length ? start[Served + i] : _tail[(Served + i - start.Length) % _tail.Length];
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

    static (CliException Error, long Served, long Written) Refused(byte[] start, long maxPixels, byte[]? endless = null)
    {
        using var temp = new TempDirectory();
        var pipe = new EndlessPipe(start, endless);
        var path = temp.File("standard-input");
        var error = Assert.Throws<CliException>(() => StandardInputCopy.Copy(pipe, path, maxPixels));
        return (error, pipe.Served, new FileInfo(path).Length);
    }

    [Fact]
    public void Zeros_for_ever_are_refused_after_the_first_64_KiB_as_no_image_format()
    {
        var (error, served, _) = Refused([], 178_956_970);

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.Contains("start like no image format", error.Message);
        Assert.InRange(served, StandardInputCopy.HeadBytes, StandardInputCopy.HeadBytes + 81_920);
    }

    [Fact]
    public void A_header_over_the_pixel_limit_is_refused_from_the_header_with_the_pixel_count()
    {
        var (error, served, _) = Refused(HostileImages.PngHeaderOnly(50_000, 50_000), 178_956_970);

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.Contains("50000×50000 pixels", error.Message);
        Assert.InRange(served, StandardInputCopy.HeadBytes, StandardInputCopy.HeadBytes + 81_920);
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
        Assert.InRange(served, StandardInputCopy.MaxBytes(100), StandardInputCopy.MaxBytes(100) + 81_920);
        Assert.True(written <= StandardInputCopy.MaxBytes(100));
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
        Assert.True(photo.Length > StandardInputCopy.HeadBytes);

        foreach (var bytes in new[] { photo, [0xFF, 0xD8, 0xFF] }) // the decoder judges a short stream whole, as a file
        {
            var path = temp.File("standard-input");
            Assert.Equal(StandardInputCopy.Kind.Image, StandardInputCopy.Copy(new MemoryStream(bytes), path, 178_956_970));
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
    }

    [Fact]
    public void Text_short_or_long_is_a_list_of_images_and_an_svg_or_a_nul_is_not()
    {
        using var temp = new TempDirectory();
        var path = temp.File("standard-input");
        var lines = string.Join("\n", Enumerable.Range(0, 5000).Select(i => $"photos/Bag/été {i:00000}.jpg")); // 120 KB, accents cut anywhere
        // a path may start with an image format's magic bytes ("BM" of BMP): text is read as a list all the same
        foreach (var text in new[] { "a.jpg\n", "\uFEFFfilename,id\r\nb.png,1\r\n", lines, "BMW/" + lines, "BMW/a.jpg\n" })
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            Assert.Equal(StandardInputCopy.Kind.List, StandardInputCopy.Copy(new MemoryStream(bytes), path, 178_956_970));
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }
        // a drawing is text too, and is named as what it is; a text with a NUL in it is no list
        Assert.Equal(StandardInputCopy.Kind.Image, StandardInputCopy.Copy(new MemoryStream("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"u8.ToArray()), path, 178_956_970));
        Assert.Equal(StandardInputCopy.Kind.Image, StandardInputCopy.Copy(new MemoryStream("a.jpg\n\0"u8.ToArray()), path, 178_956_970));
        Assert.True(StandardInputCopy.IsText("a\u00E9"u8[..^1], complete: false)); // é cut after its first byte, mid-stream
        Assert.False(StandardInputCopy.IsText("a\u00E9"u8[..^1], complete: true));
        Assert.False(StandardInputCopy.IsText([0x61, 0xFF, 0x62], complete: false));
    }

    [Fact]
    public void Text_for_ever_is_cut_off_as_a_list_too_long_for_standard_input()
    {
        var (error, served, written) = Refused([], 178_956_970, endless: "a.jpg\n"u8.ToArray()); // yes a.jpg | predict -

        Assert.Equal(ExitCodes.UnreadableCsv, error.ExitCode);
        Assert.Contains("list of images on standard input goes on past 64 MiB", error.Message);
        Assert.InRange(served, StandardInputCopy.MaxListBytes, StandardInputCopy.MaxListBytes + 81_920);
        Assert.True(written <= StandardInputCopy.MaxListBytes);
    }
}

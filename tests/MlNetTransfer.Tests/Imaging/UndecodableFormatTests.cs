using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Imaging;
using MlNetTransfer.MlNet;
using SkiaSharp;

namespace MlNetTransfer.Tests;

/// <summary>An image SkiaSharp cannot decode is named by its bytes, with what to do, wherever it is read — a file of
/// any name, bytes in memory, standard input — where Skia says only "InvalidInput"; the formats it reads are never
/// named so. Fixtures: tests/fixtures/undecodable (make.sh: ImageMagick's own encoders).</summary>
public class UndecodableFormatTests
{
    public static TheoryData<string, string, string> Fixtures => new()
    {
        { "bag.heic", "a HEIC image", "heif-convert" },
        { "bag.avif", "an AVIF image", "mogrify -format jpg" },
        { "bag.tif", "a TIFF image", "mogrify -format jpg" },
        { "bag.jp2", "a JPEG 2000 image", "mogrify -format jpg" },
        { "bag.psd", "a Photoshop image", "mogrify -format jpg" },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_file_skia_cannot_decode_is_named_with_how_to_convert_it_whatever_its_name(string fixture, string named, string advice)
    {
        using var temp = new TempDirectory();
        var bytes = File.ReadAllBytes(TestPaths.Fixture(Path.Combine("undecodable", fixture)));
        var disguised = temp.File("photo.jpg");
        File.WriteAllBytes(disguised, bytes);

        foreach (var path in new[] { TestPaths.Fixture(Path.Combine("undecodable", fixture)), disguised })
        {
            using var decoded = ImageDecoder.Decode(path, 64);
            Assert.Null(decoded.Bitmap);
            Assert.StartsWith(named, decoded.Problem);
            Assert.Contains("which SkiaSharp cannot decode: convert it to JPEG first", decoded.Problem);
            Assert.Contains(advice, decoded.Problem);
            Assert.Equal(decoded.Problem, ImageDecoder.ReadHeader(path).Problem); // listing a folder says it too
        }
        var fromMemory = Assert.Throws<InvalidDataException>(() => ImageBytes.Decode(bytes));
        Assert.Contains(named, fromMemory.Message);
    }

    [Theory]
    [InlineData("<!DOCTYPE html>\n<html><body>Not Found</body></html>", "an HTML page, not an image")]
    [InlineData("\uFEFF  <html lang=\"en\"><head>", "an HTML page, not an image")]
    [InlineData("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\"/>", "an SVG drawing")]
    [InlineData("%PDF-1.7\n%âãÏÓ\n1 0 obj", "a PDF document, not an image")]
    public void A_page_a_drawing_or_a_document_saved_as_an_image_says_what_it_is(string content, string named)
    {
        using var temp = new TempDirectory();
        var path = temp.File("download.png");
        File.WriteAllText(path, content);

        using var decoded = ImageDecoder.Decode(path, 64);

        Assert.StartsWith(named, decoded.Problem);
    }

    [Fact]
    public void Formats_skia_reads_and_bytes_of_no_known_format_are_named_by_nothing()
    {
        using var bitmap = new SKBitmap(8, 8);
        foreach (var format in new[] { SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Gif, SKEncodedImageFormat.Bmp })
        {
            using var data = bitmap.Encode(format, 90);
            if (data != null) Assert.Null(UndecodableFormat.Name(data.AsSpan()));
        }
        Assert.Null(UndecodableFormat.Name("not an image"u8));
        Assert.Null(UndecodableFormat.Name("<?xml version=\"1.0\"?><feed/>"u8)); // XML that is no drawing
        Assert.Null(UndecodableFormat.Name([0, 0, 0, 0x18, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'i', (byte)'s', (byte)'o', (byte)'m'])); // an MP4
        Assert.Null(UndecodableFormat.Name([]));
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("text.png"), "not an image");
        using var text = ImageDecoder.Decode(temp.File("text.png"), 64);
        Assert.StartsWith("not a readable image", text.Problem);
    }

    [Theory]
    [InlineData(new byte[] { 0x49, 0x49, 0x2A, 0, 8, 0, 0, 0, 0x43, 0x52, 2, 0 }, "camera RAW (Canon CR2)")]
    [InlineData(new byte[] { 0x49, 0x49, 0x55, 0, 0x18, 0, 0, 0 }, "camera RAW (Panasonic RW2)")]
    [InlineData(new byte[] { 0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x63, 0x72, 0x78, 0x20, 0, 0, 0, 1, 0x63, 0x72, 0x78, 0x20, 0x69, 0x73, 0x6F, 0x6D }, "camera RAW (Canon CR3)")]
    [InlineData(new byte[] { 0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6D, 0x69, 0x66, 0x31, 0, 0, 0, 0, 0x6D, 0x69, 0x66, 0x31, 0x61, 0x76, 0x69, 0x66 }, "AVIF")]
    [InlineData(new byte[] { 0, 0, 0, 0x14, 0x66, 0x74, 0x79, 0x70, 0x6D, 0x69, 0x66, 0x31, 0, 0, 0, 0, 0x6D, 0x69, 0x66, 0x31 }, "HEIF")]
    [InlineData(new byte[] { 0xFF, 0x0A, 0xFA, 0x7F }, "JPEG XL")]
    [InlineData(new byte[] { 0, 0, 0, 12, 0x4A, 0x58, 0x4C, 0x20, 13, 10, 0x87, 10 }, "JPEG XL")]
    public void Camera_raw_files_and_iso_media_brands_are_told_apart_by_their_headers(byte[] head, string name)
    {
        Assert.Equal(name, UndecodableFormat.Name(head));
    }

    [Fact]
    public void A_heic_photo_on_standard_input_is_refused_by_name_after_its_first_64_KiB()
    {
        using var temp = new TempDirectory();
        var heic = File.ReadAllBytes(TestPaths.Fixture(Path.Combine("undecodable", "bag.heic")));
        var large = heic.Concat(new byte[StandardInputCopy.HeadBytes]).ToArray(); // a photo's size: judged from its head

        var error = Assert.Throws<CliException>(() => StandardInputCopy.Copy(new MemoryStream(large), temp.File("standard-input"), ImageDecoder.DefaultMaxPixels));

        Assert.Equal(ExitCodes.UnreadableImages, error.ExitCode);
        Assert.StartsWith("-: the image on standard input is a HEIC image", error.Message);
    }
}

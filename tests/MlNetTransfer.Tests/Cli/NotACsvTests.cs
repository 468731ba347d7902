using System.IO.Compression;
using System.Text;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>A file given where a CSV belongs that is not one — the zip or tar the images came in, an Excel workbook,
/// an image, a binary file — is named for what it is, with what to give instead, from its first bytes; so is an
/// archive given to predict as its image.</summary>
[Collection(TorchRandomCollection.Name)]
public class NotACsvTests : CliSandbox
{
    void Refused(string file, string expected)
    {
        var (exit, output) = Run($"train --data {file} --out {Out} {Fast}");
        Assert.True(exit == ExitCodes.UnreadableCsv, $"exit {exit}: {output}");
        Assert.Contains($"{file}: {expected}", output.ReplaceLineEndings(""));
        Assert.DoesNotContain("lacks the columns", output);
    }

    [Fact]
    public void The_archive_the_images_came_in_is_named_with_how_to_unpack_it()
    {
        var zip = _temp.File("photos.zip");
        ZipFile.CreateFromDirectory(Train, zip);
        Refused(zip, $"a zip archive, not a CSV: unpack it (unzip photos.zip -d photos)");

        var tar = _temp.File("photos.tar");
        System.Formats.Tar.TarFile.CreateFromDirectory(Train, tar, includeBaseDirectory: false);
        Refused(tar, "a tar archive, not a CSV: unpack it (tar xf photos.tar)");

        var gz = _temp.File("photos.tar.gz");
        using (var output = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        using (var input = File.OpenRead(tar))
            input.CopyTo(output);
        Refused(gz, "a gzip-compressed file, not a CSV: unpack it (tar xzf photos.tar.gz, or gunzip photos.tar.gz)");
    }

    [Fact]
    public void Predict_given_the_archive_of_its_images_says_how_to_unpack_it()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var zip = _temp.File("to-score.zip");
        ZipFile.CreateFromDirectory(Test, zip);

        var (exit, output) = Run($"predict --model {Path.Combine(Out, "model.zip")} {zip}");

        Assert.True(exit == ExitCodes.EmptyData, $"exit {exit}: {output}");
        Assert.Contains($"{zip}: a zip archive, not an image: unpack it (unzip to-score.zip -d to-score)", output.ReplaceLineEndings(""));
    }

    [Fact]
    public void A_workbook_an_image_or_a_binary_file_is_named_for_what_it_is()
    {
        var workbook = _temp.File("labels.xlsx");
        using (var archive = ZipFile.Open(workbook, ZipArchiveMode.Create))
            foreach (var entry in new[] { "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml" })
                using (var writer = new StreamWriter(archive.CreateEntry(entry).Open()))
                    writer.Write("<?xml version=\"1.0\"?><x/>");
        Refused(workbook, "an Excel workbook, not a CSV: save the sheet as CSV");

        var image = Directory.GetFiles(Path.Combine(Train, "Bag"))[0];
        Refused(image, "an image, not a CSV: give the folder of class folders the images are in");

        var zeros = _temp.File("zeros.csv");
        File.WriteAllBytes(zeros, new byte[1 << 20]); // no line end in a megabyte: read as a CSV, one header line
        Refused(zeros, "not a text file (it holds NUL bytes)");

        var coco = _temp.File("instances_train.json");
        File.WriteAllText(coco, "{\"images\": [" + string.Join(",", Enumerable.Range(0, 5000).Select(i => $"{{\"id\": {i}, \"file_name\": \"{i}.jpg\"}}")) + "]}");
        Refused(coco, "a JSON file, not a CSV");

        var oneLine = _temp.File("one-line.csv");
        File.WriteAllText(oneLine, new string('a', 200_000)); // text, but no header line to read
        Refused(oneLine, "its first line runs past 64 KB");
    }

    [Fact]
    public void A_csv_saved_as_utf16_with_its_byte_order_mark_still_reads()
    {
        // Excel's "Unicode Text" and PowerShell 5's Out-File write UTF-16 with a byte order mark: NUL bytes, yet text
        var rows = Classes.SelectMany(c => Directory.GetFiles(Path.Combine(Train, c)).Select(f => $"{c}/{Path.GetFileName(f)},{c}"));
        var csv = Path.Combine(Train, "labels.csv");
        File.WriteAllText(csv, string.Join("\r\n", ["filename,target", .. rows]), Encoding.Unicode);

        var (exit, output) = Run($"train --data {csv} --out {Out} --epochs 1 {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("training on", output);
    }
}

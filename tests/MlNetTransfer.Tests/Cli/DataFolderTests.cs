using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>What a folder of class folders holds besides data: hidden folders and files are neither classes nor
/// images, a run's output folder is not a class, a linked folder is read once, and a class with no readable image is said by name, not dropped
/// from the model unsaid.</summary>
[Collection(TorchRandomCollection.Name)]
public class DataFolderTests : CliSandbox
{
    string CopyOf(string from, string toFolder)
    {
        Directory.CreateDirectory(toFolder);
        var file = Directory.GetFiles(from).Order().First();
        var copy = Path.Combine(toFolder, Path.GetFileName(file));
        File.Copy(file, copy);
        return copy;
    }

    [Fact]
    public void Hidden_folders_and_files_are_neither_classes_nor_images_and_the_folders_are_named()
    {
        // what Jupyter, a file manager's thumbnail cache and a zip made on a Mac leave in a data set
        CopyOf(Path.Combine(Train, "Bag"), Path.Combine(Train, ".ipynb_checkpoints"));
        CopyOf(Path.Combine(Train, "Trouser"), Path.Combine(Train, "Bag", ".thumbnails"));
        CopyOf(Path.Combine(Train, "Bag"), Path.Combine(Train, "__MACOSX", "Bag"));
        File.WriteAllText(Path.Combine(Train, "Bag", "._resource-fork.png"), "macOS metadata, not a PNG");

        var set = LabelledImageSet.Load(Train, strict: true);
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        CopyOf(Path.Combine(Test, "Bag"), Path.Combine(Test, ".cache"));
        var (predictExit, prediction) = Run($"predict --model {Path.Combine(Out, "model.zip")} {Test}");

        Assert.Equal(Classes, set.Classes);
        Assert.Equal(8, set.Rows.Count(r => r.Label == "Bag")); // not the Trouser thumbnail, not the fork
        Assert.Empty(set.Skipped);
        Assert.Equal([".ipynb_checkpoints", "Bag/.thumbnails", "__MACOSX"], set.HiddenFolders);
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("hidden folder(s) .ipynb_checkpoints, Bag/.thumbnails, __MACOSX", output.ReplaceLineEndings(""));
        Assert.Contains("training on 24 images in 3 classes", output);
        Assert.True(predictExit == ExitCodes.Success, prediction);
        Assert.DoesNotContain(".cache", prediction);
    }

    [Fact]
    public void A_linked_folder_is_read_once_a_loop_is_not_followed_and_another_class_is_not_relabelled()
    {
        Directory.CreateSymbolicLink(Path.Combine(Train, "Bag", "up"), ".."); // back up to the data root: a loop
        Directory.CreateSymbolicLink(Path.Combine(Train, "Bag", "trousers"), Path.Combine(Train, "Trouser"));
        var elsewhere = Path.Combine(_temp.Path, "elsewhere", "more-bags");
        CopyOf(Path.Combine(Train, "Bag"), elsewhere);
        File.Move(Directory.GetFiles(elsewhere).Single(), Path.Combine(elsewhere, "another-bag.png"));
        Directory.CreateSymbolicLink(Path.Combine(Train, "Bag", "more"), elsewhere); // a link to images not read otherwise

        var set = LabelledImageSet.Load(Train, strict: true);
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");

        Assert.Equal(25, set.Rows.Count); // 24, each once, and the one only the link leads to
        Assert.Equal(9, set.Rows.Count(r => r.Label == "Bag"));
        Assert.Equal(8, set.Rows.Count(r => r.Label == "Trouser"));
        Assert.Equal(["Bag/trousers", "Bag/up"], set.RepeatedFolders);
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("Bag/trousers, Bag/up (links to folders read already)", output.ReplaceLineEndings(""));
    }

    [Fact]
    public void A_run_written_inside_the_data_folder_is_not_a_class_of_the_next_run()
    {
        var inside = Path.Combine(Train, "out"); // train --data . from the data set's own folder, --out's default
        var (first, firstOutput) = Run($"train --data {Train} --epochs 1 --out {inside} {Fast}");
        Assert.True(first == ExitCodes.Success, firstOutput);
        Assert.True(File.Exists(Path.Combine(inside, "confusion-matrix.png"))); // the PNGs that made a class of it

        var (second, output) = Run($"train --data {Train} --epochs 1 --out {inside} {Fast}");

        Assert.True(second == ExitCodes.Success, output);
        Assert.Contains("training on 18 images in 3 classes", output); // 24, less the held-out fifth: no "out" class
        Assert.Contains("left alone in " + Train + ": out (what train wrote there", output.ReplaceLineEndings(""));
        Assert.Equal(["out"], LabelledImageSet.Load(Train, strict: true).OutputFolders);
    }

    [Fact]
    public void A_class_folder_without_a_readable_image_is_named_with_why_or_fails_with_strict()
    {
        Directory.CreateDirectory(Path.Combine(Train, "Empty"));
        Directory.CreateDirectory(Path.Combine(Train, "Photos"));
        File.WriteAllText(Path.Combine(Train, "Photos", "IMG_0001.heic"), "a phone's photo, not a format ML.NET reads");
        Directory.CreateDirectory(Path.Combine(Train, "Broken"));
        File.WriteAllText(Path.Combine(Train, "Broken", "1.png"), "not a png");
        File.WriteAllText(Path.Combine(Train, "Broken", "2.png"), "not a png either");

        var set = LabelledImageSet.Load(Train, strict: false);
        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}");
        var (strictExit, strict) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-strict --strict {Fast}");
        Directory.Delete(Path.Combine(Train, "Broken"), recursive: true);
        var (strictEmptyExit, strictEmpty) = Run($"train --data {Train} --test {Test} --epochs 1 --out {Out}-strict --strict {Fast}");

        Assert.Equal(Classes, set.Classes);
        Assert.Equal(["Broken (its 2 images could not be read)", "Empty (an empty folder)", "Photos (none of its 1 file is an image)"], set.LeftOutClasses);
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"{Train}: 3 classes hold no readable image and are left out: Broken (its 2 images could not be read), " +
            "Empty (an empty folder), Photos (none of its 1 file is an image)", output.ReplaceLineEndings(""));
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, ReportWriter.MetricsFile))))
            Assert.Equal(3, metrics.RootElement.GetProperty("test").GetProperty("classes").GetArrayLength());
        Assert.Equal(ExitCodes.UnreadableImages, strictExit); // the broken images fail first, as before
        Assert.Equal(ExitCodes.EmptyData, strictEmptyExit);
        Assert.Contains("2 classes hold no readable image and are left out: Empty (an empty folder)", strictEmpty.ReplaceLineEndings(""));
        Assert.False(File.Exists(Path.Combine(Out + "-strict", "model.zip")), strict);
    }

    [Fact]
    public void Photos_in_formats_skiasharp_cannot_decode_are_named_with_how_to_convert_them_and_a_jfif_is_a_jpeg()
    {
        // what a phone and a browser leave: HEIC photos, and JPEGs that Windows saved as .jfif
        using (var bitmap = SkiaSharp.SKBitmap.Decode(Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First()))
            EncodedImages.Save(bitmap, Path.Combine(Train, "Bag", "download.jfif"), SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        var phone = Path.Combine(_temp.Path, "phone");
        foreach (var (label, name) in new[] { ("Cat", "IMG_0001.HEIC"), ("Cat", "IMG_0002.HEIC"), ("Dog", "IMG_0003.heic"), ("Dog", "scan.tif") })
        {
            Directory.CreateDirectory(Path.Combine(phone, label));
            File.WriteAllText(Path.Combine(phone, label, name), "a photo in a format SkiaSharp does not decode");
        }

        var set = LabelledImageSet.Load(Train, strict: true);
        var refused = Assert.Throws<CliException>(() => LabelledImageSet.Load(phone, strict: false));
        var (predictExit, predicted) = Run($"predict --model {Path.Combine(_temp.Path, "model.zip")} {phone}");

        Assert.Equal(9, set.Rows.Count(r => r.Label == "Bag")); // the .jfif read as the JPEG it is
        Assert.Null(set.NotImages.ConversionHint);
        Assert.Equal(ExitCodes.EmptyData, refused.ExitCode);
        Assert.Equal($"{phone}: no readable images. Left alone as not images by their extension: 3 .heic, 1 .tif " +
            "(images are .bmp .gif .jfif .jpe .jpeg .jpg .png .webp). .heic, .tif files are images (HEIC, TIFF) that SkiaSharp cannot " +
            "decode: convert them to JPEG first, e.g. mogrify -format jpg *.heic (ImageMagick) or heif-convert (libheif-examples).", refused.Message);
        Assert.Equal(ExitCodes.EmptyData, predictExit);
        Assert.Contains(".heic, .tif files are images (HEIC, TIFF) that SkiaSharp cannot decode", predicted.ReplaceLineEndings(" ").Replace("  ", " "));
    }

    [Fact]
    public void A_folder_of_images_with_a_labels_csv_beside_them_points_to_the_csv()
    {
        // the layout many data sets come in: labels.csv next to images/, which reads as one class called "images"
        var root = Path.Combine(_temp.Path, "dataset");
        var images = Directory.CreateDirectory(Path.Combine(root, "images")).FullName;
        var lines = new List<string> { "filename,target" };
        foreach (var c in Classes)
            foreach (var file in Directory.GetFiles(Path.Combine(Train, c)))
            {
                File.Copy(file, Path.Combine(images, $"{c}-{Path.GetFileName(file)}"));
                lines.Add($"images/{c}-{Path.GetFileName(file)},{c}");
            }
        File.WriteAllLines(Path.Combine(root, "labels.csv"), lines);

        var (exit, output) = Run($"train --data {root} --epochs 1 --out {Out} {Fast}");
        var (csvExit, csvOutput) = Run($"train --data {Path.Combine(root, "labels.csv")} --epochs 1 --out {Out} {Fast}");

        Assert.Equal(ExitCodes.SingleClass, exit);
        Assert.Contains($"only one class (images); a classifier needs at least two. It holds labels.csv: if one lists the images with " +
            $"filename,target columns, give it instead of the folder ({Path.Combine(root, "labels.csv")}).", output.ReplaceLineEndings(""));
        Assert.True(csvExit == ExitCodes.Success, csvOutput);
    }

    [Fact]
    public void A_csv_target_whose_images_are_all_missing_is_named_and_one_class_left_says_why()
    {
        var csv = Path.Combine(_temp.Path, "list.csv");
        File.WriteAllLines(csv, ["filename,target", "train/Cat/gone-1.png,Cat", "train/Cat/gone-2.png,Cat",
            .. Directory.GetFiles(Path.Combine(Train, "Bag")).Select(f => $"{Path.GetRelativePath(_temp.Path, f)},Bag")]);

        var (exit, output) = Run($"train --data {csv} --epochs 1 --out {Out} {Fast}");

        Assert.Equal(ExitCodes.SingleClass, exit);
        Assert.Contains("only one class (Bag); a classifier needs at least two; 1 class holds no readable image and is left out: " +
            "Cat (its 2 images could not be read)", output.ReplaceLineEndings(""));
    }
}

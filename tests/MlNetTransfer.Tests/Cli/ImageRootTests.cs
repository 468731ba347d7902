using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>The layout most labelled CSVs come in — a Kaggle-style train.csv beside its train_images/ folder, the rows
/// naming files without the folder —: read relative to the CSV's folder, every row was "missing" and nothing said why;
/// now the error says where it looked and where the files are, with the option that reads them from there
/// (<c>--image-root</c>), which train, check, evaluate and predict take.</summary>
[Collection(TorchRandomCollection.Name)]
public class ImageRootTests : CliSandbox
{
    /// <summary>dataset/train.csv (id,label) naming the files of dataset/train_images/ by their names alone.</summary>
    (string Csv, string Images) KaggleLayout()
    {
        var dataset = Directory.CreateDirectory(Path.Combine(_temp.Path, "dataset")).FullName;
        var images = Directory.CreateDirectory(Path.Combine(dataset, "train_images")).FullName;
        var rows = new List<string> { "id,label" };
        foreach (var file in Directory.GetFiles(Train, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            File.Copy(file, Path.Combine(images, Path.GetFileName(file)));
            rows.Add($"{Path.GetFileName(file)},{Path.GetFileName(Path.GetDirectoryName(file))}");
        }
        var csv = Path.Combine(dataset, "train.csv");
        File.WriteAllLines(csv, rows);
        return (csv, images);
    }

    [Fact]
    public void A_csv_whose_images_are_in_a_folder_beside_it_is_refused_naming_that_folder_and_reads_with_image_root()
    {
        var (csv, images) = KaggleLayout();
        var columns = new CsvColumns(Image: "id", Label: "label");

        var refused = Assert.Throws<CliException>(() => LabelledImageSet.Load(csv, strict: false, columns: columns));
        var set = LabelledImageSet.Load(csv, strict: false, columns: columns with { Root = images });

        Assert.Equal(ExitCodes.EmptyData, refused.ExitCode);
        var first = File.ReadLines(csv).Skip(1).First().Split(',')[0];
        Assert.Equal($"{csv}: none of the 24 images it lists is where its paths lead: they are read from {Path.GetDirectoryName(csv)} " +
            $"({Path.Combine(Path.GetDirectoryName(csv)!, first)} is missing); the first 20 are all in {images}: add --image-root {images}.", refused.Message);
        Assert.Equal(24, set.Rows.Count);
        Assert.Equal(images, set.Root);
        Assert.Empty(set.Skipped);
    }

    [Fact]
    public void Ids_without_their_extension_are_read_as_the_one_image_file_of_that_name_and_found_from_the_csv()
    {
        // Kaggle's dog breeds: labels.csv lists "000bec18,beagle" for train/000bec18.jpg
        var (csv, images) = KaggleLayout();
        var ids = Path.Combine(Path.GetDirectoryName(csv)!, "labels.csv");
        File.WriteAllLines(ids, File.ReadAllLines(csv).Select((line, i) => i == 0 ? line : Path.GetFileNameWithoutExtension(line.Split(',')[0]) + "," + line.Split(',')[1]));
        var twin = Path.Combine(images, Path.GetFileNameWithoutExtension(Directory.GetFiles(images).Order(StringComparer.Ordinal).Last()) + ".jpg");
        File.Copy(Directory.GetFiles(images).Order(StringComparer.Ordinal).Last(), twin); // a .png and a .jpg of one name: which is meant cannot be told
        var columns = new CsvColumns(Image: "id", Label: "label");
        var nowhere = Path.Combine(_temp.Path, "nowhere.csv");
        var unique = Guid.NewGuid().ToString("N"); // no folder near the temporary one holds such files
        File.WriteAllLines(nowhere, ["filename,target", $"{unique}-a.jpg,cat", $"{unique}-b.jpg,dog"]);

        var refused = Assert.Throws<CliException>(() => LabelledImageSet.Load(ids, strict: false, columns: columns));
        var set = LabelledImageSet.Load(ids, strict: false, columns: columns with { Root = images });
        var notFound = Assert.Throws<CliException>(() => LabelledImageSet.Load(nowhere, strict: false));

        Assert.EndsWith($" in {images}: add --image-root {images}.", refused.Message); // found without their extension
        Assert.Equal(23, set.Rows.Count);
        Assert.Equal(23, set.ExtensionsAdded.Count);
        var first = File.ReadLines(ids).Skip(1).First().Split(',')[0];
        Assert.Equal($"{first} → {first}.png", set.ExtensionsAdded.Example);
        Assert.Equal(set.ExtensionsAdded, set.OfClasses(set.Classes.Take(1)).ExtensionsAdded); // a test set cut to the model's classes still says it
        Assert.Single(set.Skipped, s => s.EndsWith(": missing", StringComparison.Ordinal)); // the name with two images
        Assert.Equal($"{nowhere}: none of the 2 images it lists is where its paths lead: they are read from {_temp.Path} " +
            $"({Path.Combine(_temp.Path, unique + "-a.jpg")} is missing); --image-root <folder> names the folder they start from.", notFound.Message);
    }

    [Fact]
    public void Images_beside_the_csvs_own_folder_are_found_and_full_paths_from_elsewhere_are_named_as_such()
    {
        // labels/train.csv with the images in ../images/ (the folder above the CSV's, and that folder's own)
        var (csv, images) = KaggleLayout();
        var labels = Directory.CreateDirectory(Path.Combine(_temp.Path, "dataset", "labels")).FullName;
        File.Move(csv, Path.Combine(labels, "train.csv"));
        var columns = new CsvColumns(Image: "id", Label: "label");
        var elsewhere = Path.Combine(_temp.Path, "full.csv");
        File.WriteAllLines(elsewhere, ["filename,target", "/home/someone/photos/cat/1.jpg,cat", "/home/someone/photos/dog/2.jpg,dog"]);

        var above = Assert.Throws<CliException>(() => LabelledImageSet.Load(Path.Combine(labels, "train.csv"), strict: false, columns: columns));
        var full = Assert.Throws<CliException>(() => LabelledImageSet.Load(elsewhere, strict: false));

        Assert.EndsWith($"in {images}: add --image-root {images}.", above.Message);
        Assert.Contains("none of the 2 images it lists exists: its paths are full paths (/home/someone/photos/cat/1.jpg)", full.Message);
        Assert.Contains("name that folder with --image-root", full.Message);
    }

    [Fact]
    public void Train_and_predict_read_a_csvs_images_from_image_root_and_refuse_it_where_no_csv_is_read()
    {
        var (csv, images) = KaggleLayout();
        var list = Path.Combine(_temp.Path, "dataset", "test.csv");
        File.WriteAllLines(list, ["id", .. Directory.GetFiles(images).Order(StringComparer.Ordinal).Take(5).Select(Path.GetFileName).OfType<string>()]);

        var (exit, output) = Run($"train --data {csv} --image-column id --label-column label --image-root {images} --epochs 1 --out {Out} {Fast}");
        var model = Path.Combine(Out, "model.zip");
        var (predictExit, predicted) = Run($"predict --model {model} {list} --image-column id --image-root {images}");
        var (unrootedExit, unrooted) = Run($"predict --model {model} {list} --image-column id");
        var (folderExit, folder) = Run($"predict --model {model} {images} --image-root {images}");
        var (noCsvExit, noCsv) = Run($"train --data {Train} --image-root {images} --epochs 1 --out {Out}-folder {Fast}");
        var (noRootExit, noRoot) = Run($"train --data {csv} --image-root {images}-not-there --epochs 1 --out {Out}-none {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("training on ", output);
        // the run's own list of what it trained on leads to the images, so Train.cs trains it again
        var trained = File.ReadAllLines(Path.Combine(Out, TrainingCode.TrainingImages)).Skip(1).ToList();
        Assert.NotEmpty(trained);
        Assert.All(trained, row => Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Out, row.Split(',')[0]))), row));
        Assert.True(predictExit == ExitCodes.Success, predicted);
        Assert.Contains("5 image(s)", predicted);
        Assert.Equal(ExitCodes.UnreadableImages, unrootedExit);
        Assert.Contains($"add --image-root {images}", unrooted.ReplaceLineEndings(""));
        Assert.Equal(ExitCodes.BadOption, folderExit);
        Assert.Contains("--image-root is where the image paths start in a CSV that lists images", folder.ReplaceLineEndings(""));
        Assert.Equal(ExitCodes.BadOption, noCsvExit);
        Assert.Contains("--image-root is where a CSV's image paths start, and no CSV is read here", noCsv.ReplaceLineEndings(""));
        Assert.Equal(ExitCodes.BadOption, noRootExit);
        Assert.Contains("no such folder", noRoot.ReplaceLineEndings(""));
    }
}

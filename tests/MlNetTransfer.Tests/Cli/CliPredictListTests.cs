using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>`predict list.csv`: the images a CSV lists (a Kaggle-style test.csv without classes) scored in the list's
/// order and named as it names them, so the scores line up with its rows — where predict refused any CSV and pointed
/// to evaluate, which needs a class for every image; and images without classes (a flat folder, a list without a class
/// column) given where classes are needed refused as such, with what takes them.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliPredictListTests : CliSandbox
{
    /// <summary>--csv's rows as (path, the rest: the predicted class, the flag and every score).</summary>
    static List<(string Path, string Scores)> ScoresIn(string csv) => [.. File.ReadAllLines(csv).Skip(1).Select(FirstField)];

    /// <summary>A CSV line's first field, unquoted (a path may hold commas and quotes), and the rest of the line.</summary>
    static (string Field, string Others) FirstField(string line)
    {
        if (!line.StartsWith('"')) return (line[..line.IndexOf(',')], line[(line.IndexOf(',') + 1)..]);
        var field = new System.Text.StringBuilder();
        int i = 1;
        for (; line[i] != '"' || i + 1 < line.Length && line[i + 1] == '"'; i++)
            field.Append(line[i] == '"' ? line[i++] : line[i]); // a doubled quote is one
        return (field.ToString(), line[(i + 2)..]);
    }

    [Fact]
    public void A_csv_list_is_scored_in_its_order_named_as_listed_with_the_scores_the_folder_gets_and_its_bad_rows_skipped_with_why()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var folderCsv = _temp.File("folder.csv");
        Assert.Equal(ExitCodes.Success, Run($"predict --model {model} {Test} --csv {folderCsv}").Exit);
        var byFile = ScoresIn(folderCsv).ToDictionary(r => r.Path, r => r.Scores);
        // a list beside the images' folder, not above it: paths with ../, in reverse order, one listed twice, one
        // missing, one no file can be named; its own columns around the image's
        var lists = Directory.CreateDirectory(_temp.File("lists")).FullName;
        var listed = byFile.Keys.Order(StringComparer.Ordinal).Reverse().Select(f => Path.GetRelativePath(lists, f)).ToList();
        listed.Add(listed[0]);
        string[] rows = [.. listed.Select((p, i) => $"{i},{p},note {i}"), "90,../test/Bag/gone.png,x", "91,../test/a\0b.png,y", "93,https://example.com/images/1.jpg,w"];
        var list = Path.Combine(lists, "test.csv");
        File.WriteAllText(list, "id,Photo,comment\n" + string.Join("\n", rows) + "\n");
        var scores = _temp.File("scores.csv");

        var (unnamed, unnamedOutput) = Run($"predict --model {model} {list}");
        var (exit, output) = Run($"predict --model {model} {list} --image-column Photo --csv {scores}");
        var (evaluated, evaluateOutput) = Run($"evaluate --model {model} --data {list} --image-column Photo");

        Assert.Equal(ExitCodes.UnreadableCsv, unnamed);
        Assert.Contains("has no image column ('filename' or 'ImagePath'); name it: --image-column Photo", unnamedOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.True(exit == ExitCodes.Success, output);
        var scored = ScoresIn(scores);
        Assert.Equal(listed, scored.Select(r => r.Path)); // the list's order and names, the repeat scored again
        Assert.All(scored, r => Assert.Equal(byFile[Path.GetFullPath(Path.Combine(lists, r.Path))], r.Scores));
        var skipped = File.ReadAllLines(PredictCommand.SkippedFile(scores));
        Assert.Equal(3, skipped.Length);
        Assert.Contains(skipped, s => s.StartsWith($"{list}, line 13: the filename holds a NUL character", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s.StartsWith("../test/Bag/gone.png: ", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s.StartsWith($"{list}, line 14: https://example.com/images/1.jpg is a web address, not a file: download the images first", StringComparison.Ordinal));
        Assert.DoesNotContain("also gives classes", output);
        Assert.Equal(ExitCodes.UnreadableCsv, evaluated); // no classes to measure against: the command that scores the list
        Assert.Contains($"to score the images: predict --model {model} {list} --image-column Photo", evaluateOutput.ReplaceLineEndings(""));

        File.AppendAllText(list, "92,,z\n"); // a row that names no image: refused by its line, nothing scored or written
        File.Delete(scores);
        var (empty, emptyOutput) = Run($"predict --model {model} {list} --image-column Photo --csv {scores}");
        Assert.Equal(ExitCodes.UnreadableCsv, empty);
        Assert.Contains($"{list}, line 15: empty Photo; every row names an image", emptyOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.False(File.Exists(scores));
    }

    [Fact]
    public void A_labelled_csv_or_folder_is_scored_too_and_points_to_evaluate_for_its_accuracy_and_the_column_option_is_refused_beside_a_folder()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var images = Classes.SelectMany(c => Directory.GetFiles(Path.Combine(Test, c)).Order().Select(f => (Path: Path.GetRelativePath(_temp.Path, f), Label: c))).ToList();
        var list = _temp.File("tags.tsv");
        File.WriteAllText(list, "ImagePath\tLabel\n" + string.Concat(images.Select(i => $"{i.Path}\t{i.Label}\n")));

        var scores = _temp.File("scores.csv");
        var (exit, output) = Run($"predict --model {model} {list} --csv {scores}");
        var (folder, folderOutput) = Run($"predict --model {model} {Test} --image-column Photo");
        var (classFolders, classFoldersOutput) = Run($"predict --model {model} {Test}"); // a labelled test folder: the same hint
        var (flat, flatOutput) = Run($"predict --model {model} {Path.Combine(Test, "Bag")}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"also gives classes ('Label'); their accuracy: evaluate --model {model} --data {list}", output.ReplaceLineEndings(""));
        Assert.Equal(images.Select(i => i.Path), ScoresIn(scores).Select(r => r.Path));
        Assert.Equal(ExitCodes.BadOption, folder);
        Assert.Contains("--image-column names a column of a CSV that lists images", folderOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.Equal(ExitCodes.Success, classFolders);
        Assert.Contains($"holds folders named as the model's classes (Bag, Sneaker, Trouser); their accuracy: evaluate --model {model} --data {Test}",
            classFoldersOutput.ReplaceLineEndings(""));
        Assert.Equal(ExitCodes.Success, flat);
        Assert.DoesNotContain("their accuracy", flatOutput);
    }

    [Fact]
    public void Images_without_classes_where_classes_are_needed_are_refused_as_such_with_what_takes_them()
    {
        var flat = Directory.CreateDirectory(_temp.File("flat")).FullName; // a Kaggle-style test folder
        foreach (var file in Directory.GetFiles(Test, "*.png", SearchOption.AllDirectories)) File.Copy(file, Path.Combine(flat, Path.GetFileName(file)));
        var model = Path.Combine(Out, "model.zip");

        var (asTest, asTestOutput) = Run($"train --data {Train} --test {flat} --out {Out} {Fast}");
        var (asData, asDataOutput) = Run($"train --data {flat} --out {Out} {Fast}");
        var (evaluated, evaluatedOutput) = Run($"evaluate --model {model} --data {flat}");

        static string Flat(string text) => text.ReplaceLineEndings(" ").Replace("  ", " ");
        Assert.Equal(ExitCodes.EmptyData, asTest);
        Assert.Contains($"{flat}: a folder of 9 image(s) without class folders, where each image needs its class", Flat(asTestOutput));
        Assert.Contains($"leave --test out to hold out 20 % of --data, and check them for copies of training images and for images unlike them with check --data {Train} --test {flat}", Flat(asTestOutput));
        Assert.Equal(ExitCodes.EmptyData, asData);
        Assert.Contains("predict scores images without classes, and check --test checks them", Flat(asDataOutput));
        Assert.Equal(ExitCodes.EmptyData, evaluated);
        Assert.Contains($"to score the images: predict --model {model} {flat}", Flat(evaluatedOutput));
        Assert.False(File.Exists(model), "refused before anything was trained or written");
    }

    [Fact]
    public void A_list_of_paths_one_per_line_without_a_header_as_find_writes_it_is_scored_in_its_order()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var paths = Directory.GetFiles(Test, "*.png", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_temp.Path, f)).Order(StringComparer.Ordinal).Reverse().ToList();
        // a comma or a quote in a file's name is part of it, first line or not: each line is read whole
        foreach (var odd in new[] { "a, \"b\".png", "c,d.png" })
            File.Copy(Path.Combine(_temp.Path, paths[0]), Path.Combine(_temp.Path, Path.GetDirectoryName(paths[0])!, odd));
        paths.Insert(0, Path.Combine(Path.GetDirectoryName(paths[0])!, "a, \"b\".png"));
        paths.Insert(3, Path.Combine(Path.GetDirectoryName(paths[0])!, "c,d.png"));
        var list = _temp.File("list.txt");
        File.WriteAllLines(list, paths);
        var scores = _temp.File("scores.csv");

        var (exit, output) = Run($"predict --model {model} {list} --csv {scores}");
        var (named, namedOutput) = Run($"predict --model {model} {list} --image-column Photo");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Equal(paths, ScoresIn(scores).Select(r => r.Path)); // the first line too: it is an image, not a header
        Assert.DoesNotContain("skipped", output);
        Assert.Equal(ExitCodes.UnreadableCsv, named); // a column named: the list needs the header that names it
        Assert.Contains("is an image, not a header: add a first line that names the image column", namedOutput.ReplaceLineEndings(" ").Replace("  ", " "));
    }

    [Theory]
    [InlineData("/data/lists", "/data/lists/a/b.jpg", "a/b.jpg.heatmap.jpg")]
    [InlineData("/data/lists", "/data/other/b.jpg", "_up/other/b.jpg.heatmap.jpg")]
    [InlineData("/data/lists", "/elsewhere/b.jpg", "_up/_up/elsewhere/b.jpg.heatmap.jpg")]
    public void A_heatmap_of_an_image_outside_the_lists_folder_stays_inside_the_heatmaps_folder(string root, string image, string picture)
    {
        var name = PredictionHeatmaps.PictureName(Path.GetFullPath(image), Path.GetFullPath(root));
        var maps = Path.GetFullPath("/maps") + Path.DirectorySeparatorChar;

        Assert.Equal(picture.Replace('/', Path.DirectorySeparatorChar), name);
        Assert.StartsWith(maps, Path.GetFullPath(Path.Combine(maps, name)), StringComparison.Ordinal);
    }
}

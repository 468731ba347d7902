using System.Text;
using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Data;

namespace MlNetTransfer.Tests;

/// <summary>A CSV of labelled images as people have them: ML.NET's ImagePath,Label, a spreadsheet's semicolons, a
/// tab-separated list, columns of other names given by option — each read as the CLI's own filename,target CSV is,
/// and one without the columns named with the options that would read it.</summary>
[Collection(TorchRandomCollection.Name)]
public class CsvColumnsTests : CliSandbox
{
    /// <summary>The training folder as (path relative to the sandbox, class) rows, in a stable order.</summary>
    List<(string Path, string Label)> Listed() =>
        [.. Classes.SelectMany(c => Directory.GetFiles(Path.Combine(Train, c)).Order().Select(f => (Path.GetRelativePath(_temp.Path, f), c)))];

    string Write(string name, string text, Encoding encoding)
    {
        var path = Path.Combine(_temp.Path, name);
        File.WriteAllText(path, text, encoding);
        return path;
    }

    static List<(string, string)> Read(string csv, CsvColumns? columns = null) =>
        [.. LabelledImageSet.Load(csv, strict: true, columns: columns).Rows.Select(r => (r.ImagePath, r.Label))];

    [Fact]
    public void Ml_nets_names_a_spreadsheets_semicolons_tabs_and_named_columns_read_as_filename_target_does()
    {
        var rows = Listed();
        var standard = Write("standard.csv", "filename,target\n" + string.Concat(rows.Select(r => $"{r.Path},{r.Label}\n")), new UTF8Encoding(false));
        // ML.NET's sample names, tab-separated, written on Windows: a byte order mark, CRLF and backslashes
        var mlnet = Write("tags.tsv", "ImagePath\tLabel\r\n" + string.Concat(rows.Select(r => $"{r.Path.Replace('/', '\\')}\t{r.Label}\r\n")), new UTF8Encoding(true));
        // a spreadsheet saved as CSV where the decimal mark is a comma: semicolons, the class first, a note with a comma
        var semicolons = Write("export.csv", "Label;Note;ImagePath\n" + string.Concat(rows.Select(r => $"{r.Label};taken 3 May, 2024;{r.Path}\n")), new UTF8Encoding(false));
        var named = Write("kaggle.csv", "id,path,species\n" + string.Concat(rows.Select((r, i) => $"{i},{r.Path},{r.Label}\n")), new UTF8Encoding(false));

        var expected = Read(standard);

        Assert.Equal(24, expected.Count);
        Assert.Equal(expected, Read(mlnet));
        Assert.Equal(expected, Read(semicolons));
        var blankFirst = Write("blank-first.csv", "\n" + File.ReadAllText(semicolons), new UTF8Encoding(false)); // the header on line 2
        Assert.Equal(expected, Read(blankFirst));
        Assert.Equal(expected, Read(named, new CsvColumns("PATH", "species")));
        Assert.Equal(expected, Read(standard, new CsvColumns("filename", "target")));
    }

    [Fact]
    public void A_header_without_the_columns_says_which_is_missing_and_the_options_that_would_read_it()
    {
        static string Missing(string header, CsvColumns columns)
        {
            char separator = columns.SeparatorOf(header);
            var fields = header.Split(separator);
            Assert.Null(columns.Find(fields));
            return columns.Missing(fields, separator);
        }

        Assert.Equal("header 'image,label' has no image column ('filename' or 'ImagePath'); name it: --image-column image",
            Missing("image,label", CsvColumns.Default));
        Assert.Equal("header 'path;species' has no image column ('filename' or 'ImagePath') and no class column ('target' or 'Label'); " +
            "name them: --image-column path --label-column species", Missing("path;species", CsvColumns.Default));
        Assert.Equal("header 'a<tab>b' has no image column ('filename' or 'ImagePath') and no class column ('target' or 'Label'); " +
            "name them: --image-column <NAME> --label-column <NAME>", Missing("a\tb", CsvColumns.Default));
        Assert.Equal("header 'filename,target' has no image column ('photo', as --image-column says); name it: --image-column <NAME>",
            Missing("filename,target", new CsvColumns(Image: "photo")));
        Assert.Equal("'path' is named as both the image and the class column; name two columns", Missing("path,species", new CsvColumns("path", "path")));
        Assert.Equal("the first line 'broccoli.jpg<tab>food' is an image and its class, not a header: add a first line that names the columns, " +
            "such as 'ImagePath<tab>Label'", Missing("broccoli.jpg\tfood", CsvColumns.Default)); // ML.NET's older samples' tags.tsv
        Assert.Equal(',', CsvColumns.Default.SeparatorOf("x;y,z")); // neither reads: the comma among equals
        // a list of images to score (predict list.csv) needs the image column alone
        Assert.Equal(';', CsvColumns.Default.SeparatorOf("id;ImagePath", withLabel: false));
        Assert.Equal("header 'id,path' has no image column ('filename' or 'ImagePath'); name it: --image-column path",
            CsvColumns.Default.Missing(["id", "path"], ',', withLabel: false));
        Assert.Equal("the first line 'photos/a.jpg' is an image, not a header: add a first line that names the image column, such as 'ImagePath'",
            CsvColumns.Default.Missing(["photos/a.jpg"], ',', withLabel: false));
    }

    [Fact]
    public void The_column_options_train_on_the_csv_they_name_and_are_refused_where_no_csv_is_read()
    {
        var rows = Listed();
        var named = Write("kaggle.csv", "id,path,species\n" + string.Concat(rows.Select((r, i) => $"{i},{r.Path},{r.Label}\n")), new UTF8Encoding(false));
        var testRows = Classes.SelectMany(c => Directory.GetFiles(Path.Combine(Test, c)).Order().Select(f => (Path.GetRelativePath(_temp.Path, f), c)));
        var test = Write("test.csv", "id,path,species\n" + string.Concat(testRows.Select((r, i) => $"{i},{r.Item1},{r.c}\n")), new UTF8Encoding(false));

        var (unnamed, unnamedOutput) = Run($"train --data {named} --test {test} --epochs 1 --out {Out} {Fast}");
        var (folder, folderOutput) = Run($"train --data {Train} --test {Test} --label-column species --epochs 1 --out {Out} {Fast}");
        var (exit, output) = Run($"train --data {named} --test {test} --image-column path --label-column species --epochs 1 --out {Out} {Fast}");

        Assert.Equal(ExitCodes.UnreadableCsv, unnamed);
        Assert.Contains("name them: --image-column path --label-column species", unnamedOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.Equal(ExitCodes.BadOption, folder);
        Assert.Contains("--label-column names a column of a CSV, and no CSV is read here", folderOutput.ReplaceLineEndings(" ").Replace("  ", " "));
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("training on 24 images in 3 classes", output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "metrics.json")));
        Assert.Equal(9, metrics.RootElement.GetProperty("test").GetProperty("images").GetInt32());
    }
}

using System.Text.Json;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>`check`: every flagged image in its JSON with the path as the folder gives it, a copy inside the data and a
/// test image copied in it named with the image it copies; bad input refused as train refuses it.</summary>
public class CheckCommandTests : CliSandbox
{
    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Check_names_a_copy_inside_the_data_and_a_test_image_copied_in_it_with_the_images_they_copy()
    {
        var bag = Directory.GetFiles(Path.Combine(Train, "Bag")).Order().First();
        var trouser = Directory.GetFiles(Path.Combine(Train, "Trouser")).Order().First();
        File.Copy(bag, Path.Combine(Train, "Sneaker", "copy-of-a-bag.png")); // a copy, and under another label
        File.Copy(trouser, Path.Combine(Test, "Trouser", "leaked.png"));
        var json = Path.Combine(_temp.Path, "issues.json");

        var (exit, output) = Run($"check --data {Train} --test {Test} --json {json}"); // the embedded ResNet's features

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("copied in training", output);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var issues = document.RootElement.GetProperty("issues").EnumerateArray().ToList();
        Assert.Contains(issues, i => i.GetProperty("kind").GetString() == "duplicate" && i.GetProperty("path").GetString() == "Sneaker/copy-of-a-bag.png"
                                     && i.GetProperty("other").GetString() == $"Bag/{Path.GetFileName(bag)}" && i.GetProperty("label").GetString() == "Sneaker");
        Assert.Contains(issues, i => i.GetProperty("kind").GetString() == "leak" && i.GetProperty("path").GetString() == "Trouser/leaked.png"
                                     && i.GetProperty("other").GetString() == $"Trouser/{Path.GetFileName(trouser)}");
        Assert.Equal(2, issues.Count(i => i.GetProperty("kind").GetString() is "duplicate" or "leak")); // nothing else is a copy
        Assert.All(issues, i => Assert.True(i.TryGetProperty("score", out _) && i.TryGetProperty("suggested", out _)));
        Assert.Equal(25, document.RootElement.GetProperty("images").GetInt32());
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Check_leaves_test_images_of_unknown_classes_out_and_goes_on_when_no_test_image_can_be_read()
    {
        var foreign = Directory.CreateDirectory(Path.Combine(Test, "Foreign")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Test, "Bag"))) File.Copy(file, Path.Combine(foreign, Path.GetFileName(file)));
        var truncated = Directory.CreateDirectory(Path.Combine(_temp.Path, "truncated", "Bag")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Test, "Bag"))) // whole headers, image data cut short
            File.WriteAllBytes(Path.Combine(truncated, Path.GetFileName(file)), File.ReadAllBytes(file)[..300]);

        var (exit, output) = Run($"check --data {Train} --test {Test}");
        var (truncatedExit, truncatedOutput) = Run($"check --data {Train} --test {Path.GetDirectoryName(truncated)}");

        Assert.True(exit == ExitCodes.Success, output);
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains("3 image(s) of classes the training data does not know (Foreign 3) are left out of the test images' checks", text);
        Assert.Contains("and 9 test images from", text);
        Assert.True(truncatedExit == ExitCodes.Success, truncatedOutput); // was an internal error: "No usable rows"
        Assert.Contains("data health: test images not checked for copies or unfamiliar images (No usable rows: 3 of 3 skipped", truncatedOutput.ReplaceLineEndings(" "));
        Assert.Contains("likely label error(s)", truncatedOutput); // the training images are still checked
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)] // the embedded ResNet's features
    public void Check_flags_a_test_image_unlike_every_training_image_as_unfamiliar_and_the_real_test_images_not()
    {
        SaveColourNoise(Path.Combine(Test, "Bag", "colour-noise.png"));
        var json = Path.Combine(_temp.Path, "issues.json");

        var (exit, output) = Run($"check --data {Train} --test {Test} --json {json}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("1 test image(s) unlike the training images", output.ReplaceLineEndings(" "));
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var unfamiliar = document.RootElement.GetProperty("issues").EnumerateArray().Where(i => i.GetProperty("kind").GetString() == "unfamiliar").ToList();
        Assert.Equal(["Bag/colour-noise.png"], unfamiliar.Select(i => i.GetProperty("path").GetString()));
    }

    /// <summary>A 96 px picture of colour noise: like no training image.</summary>
    static void SaveColourNoise(string path)
    {
        var random = new Random(3);
        using var noise = new SkiaSharp.SKBitmap(96, 96);
        for (int y = 0; y < 96; y++)
            for (int x = 0; x < 96; x++)
                noise.SetPixel(x, y, new SkiaSharp.SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        EncodedImages.Save(noise, path, SkiaSharp.SKEncodedImageFormat.Png);
    }

    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)] // the embedded ResNet's features
    public void Test_images_without_classes_a_flat_folder_or_a_list_have_their_copies_and_unfamiliar_images_flagged_with_no_label()
    {
        // a Kaggle-style test folder: images, no class folders; one copied from the training images, one like none
        var flat = Directory.CreateDirectory(Path.Combine(_temp.Path, "flat")).FullName;
        foreach (var file in Directory.GetFiles(Test, "*.png", SearchOption.AllDirectories)) File.Copy(file, Path.Combine(flat, Path.GetFileName(file)));
        var trouser = Directory.GetFiles(Path.Combine(Train, "Trouser")).Order().First();
        File.Copy(trouser, Path.Combine(flat, "leaked.png"));
        SaveColourNoise(Path.Combine(flat, "colour-noise.png"));
        var list = Path.Combine(_temp.Path, "list.txt"); // the same images as find lists them: no header, no class
        File.WriteAllLines(list, Directory.GetFiles(flat).Order(StringComparer.Ordinal).Select(f => Path.GetRelativePath(_temp.Path, f)));
        var (folderJson, listJson) = (Path.Combine(_temp.Path, "folder.json"), Path.Combine(_temp.Path, "list.json"));

        var (exit, output) = Run($"check --data {Train} --test {flat} --json {folderJson}");
        var (listExit, listOutput) = Run($"check --data {Train} --test {list} --json {listJson}");

        static List<(string?, string?, string?)> Flagged(string json)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(json));
            return [.. document.RootElement.GetProperty("issues").EnumerateArray().Where(i => i.GetProperty("kind").GetString() is "leak" or "unfamiliar")
                .Select(i => (i.GetProperty("kind").GetString(), i.GetProperty("path").GetString(), i.GetProperty("label").GetString()))];
        }
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("and 11 test images without classes from", output.ReplaceLineEndings(" "));
        Assert.Equal([("leak", "leaked.png", null), ("unfamiliar", "colour-noise.png", null)], Flagged(folderJson));
        Assert.True(listExit == ExitCodes.Success, listOutput);
        Assert.Equal([("leak", "flat/leaked.png", null), ("unfamiliar", "flat/colour-noise.png", null)], Flagged(listJson));
    }

    [Fact]
    public void Check_with_a_test_set_of_none_of_the_datas_classes_is_refused_naming_both()
    {
        var foreign = Directory.CreateDirectory(Path.Combine(_temp.Path, "foreign", "Foreign")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Test, "Bag"))) File.Copy(file, Path.Combine(foreign, Path.GetFileName(file)));

        var (exit, output) = Run($"check --data {Train} --test {Path.GetDirectoryName(foreign)}"); // crashed in the decode: an empty range

        Assert.Equal(ExitCodes.EmptyData, exit);
        Assert.Contains("none of its classes (Foreign) is one of the training data's (Bag, Sneaker, Trouser)", output.ReplaceLineEndings(" "));
    }

    [Fact]
    public void Check_of_a_folder_that_is_not_there_says_so()
    {
        var (exit, output) = Run($"check --data {Path.Combine(_temp.Path, "nowhere")}");

        Assert.Equal(ExitCodes.DataNotFound, exit);
        Assert.Contains("nowhere", output);
    }

    [Fact]
    public void Check_without_pretrained_weights_is_refused_by_option()
    {
        var (exit, output) = Run($"check --data {Train} --arch tiny --weights scratch");

        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("pretrained", output);
    }
}

using System.Text.Json;
using MlNetTransfer.Cli;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Tests;

/// <summary>`evaluate --model new.zip --against old.zip`: both models scored on the same labelled images, the images
/// each gets right that the other gets wrong counted as predict's answers show them, McNemar's test and the log-loss
/// interval on screen and in --json, with the other model's sure answers at the same minimum score; a model against itself differs in nothing; an other model that knows fewer
/// classes is compared on the images of classes both know; a missing or damaged --against file is refused before any
/// scoring, and one that knows none of the images' classes by name; `train --against` writes the same comparison on its
/// test images to the summary, metrics.json and report.html, refuses a missing file before training, and keeps the
/// trained model and report when the comparison itself fails.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliCompareTests : CliSandbox
{
    /// <summary>Whether each image predict scores is predicted as its folder's class, by path (predict's CSV has the full path).</summary>
    Dictionary<string, bool> RightByPath(string model, string images)
    {
        var csv = _temp.File($"{Guid.NewGuid():N}.csv");
        var (exit, output) = Run($"predict --model {model} {images} --csv {csv}");
        Assert.True(exit == ExitCodes.Success, output);
        return File.ReadLines(csv).Skip(1).Select(l => l.Split(','))
            .ToDictionary(f => f[0], f => f[1] == Path.GetFileName(Path.GetDirectoryName(f[0])));
    }

    [Fact]
    public void Evaluate_against_another_model_counts_the_images_each_gets_right_that_the_other_gets_wrong()
    {
        var newer = Path.Combine(Out, "new"); var older = Path.Combine(Out, "old");
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 4 --out {newer} {Fast}").Exit);
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --seed 2 --out {older} {Fast}").Exit);
        string newModel = Path.Combine(newer, "model.zip"), oldModel = Path.Combine(older, "model.zip");
        var json = _temp.File("compare.json");

        var (exit, output) = Run($"evaluate --model {newModel} --data {Train} --against {oldModel} --json {json}");

        Assert.True(exit == ExitCodes.Success, output);
        var ours = RightByPath(newModel, Train);
        var theirs = RightByPath(oldModel, Train);
        int fixedCount = ours.Count(p => p.Value && !theirs[p.Key]), broken = ours.Count(p => !p.Value && theirs[p.Key]);
        var against = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("against");
        Assert.Equal(oldModel, against.GetProperty("model").GetString());
        Assert.Equal((24, fixedCount, broken, 0), (against.GetProperty("images").GetInt32(), against.GetProperty("fixed").GetInt32(),
            against.GetProperty("broken").GetInt32(), against.GetProperty("leftOut").GetInt32()));
        Assert.Equal(ours.Count(p => p.Value) / 24.0, against.GetProperty("accuracy").GetDouble(), 1e-9);
        Assert.Equal(theirs.Count(p => p.Value) / 24.0, against.GetProperty("againstAccuracy").GetDouble(), 1e-9);
        Assert.Equal(ModelComparison.McNemar(fixedCount, broken), against.GetProperty("pValue").GetDouble(), 1e-12);
        var interval = against.GetProperty("logLossDifference");
        double difference = against.GetProperty("logLoss").GetDouble() - against.GetProperty("againstLogLoss").GetDouble();
        Assert.InRange(difference, interval.GetProperty("low").GetDouble(), interval.GetProperty("high").GetDouble());
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains($"against {oldModel}: accuracy ", text);
        Assert.Contains($"on the same 24 images; of the {fixedCount + broken} only one of them gets right, this model gets {fixedCount} and the other {broken}", text);
        Assert.Contains("paired bootstrap", text);
        // the other model's sure answers at the same --min-score, as evaluating it alone counts them
        var aloneJson = _temp.File("old.json");
        Assert.Equal(ExitCodes.Success, Run($"evaluate --model {oldModel} --data {Train} --json {aloneJson}").Exit);
        var alone = JsonDocument.Parse(File.ReadAllText(aloneJson)).RootElement.GetProperty("sureAnswers").GetProperty("atMinScore");
        Assert.Equal(alone.GetRawText(), against.GetProperty("againstSureAnswers").GetRawText());
        Assert.Contains("Its sure answers: Score ≥ 0.9: ", text);

        var (selfExit, self) = Run($"evaluate --model {newModel} --data {Train} --against {newModel}");
        Assert.True(selfExit == ExitCodes.Success, self);
        Assert.Contains("both get the same images right (McNemar's exact test p = 1): within chance", self.ReplaceLineEndings(" "));
    }

    [Fact]
    public void A_model_that_knows_fewer_classes_is_compared_on_the_images_of_classes_both_know()
    {
        var twoClasses = Directory.CreateDirectory(_temp.File("two")).FullName;
        foreach (var c in Classes.Take(2))
            CopyFolder(Path.Combine(Train, c), Path.Combine(twoClasses, c));
        var full = Path.Combine(Out, "full"); var partial = Path.Combine(Out, "partial");
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 2 --out {full} {Fast}").Exit);
        Assert.Equal(ExitCodes.Success, Run($"train --data {twoClasses} --epochs 2 --out {partial} {Fast}").Exit);
        var json = _temp.File("compare.json");

        var (exit, output) = Run($"evaluate --model {Path.Combine(full, "model.zip")} --data {Test} --against {Path.Combine(partial, "model.zip")} --json {json}");

        Assert.True(exit == ExitCodes.Success, output);
        var against = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("against");
        Assert.Equal((6, 3), (against.GetProperty("images").GetInt32(), against.GetProperty("leftOut").GetInt32())); // Trouser's 3 test images
        Assert.Contains("3 image(s) scored by one model only left out", output.ReplaceLineEndings(" "));
    }

    [Fact]
    public void A_model_to_compare_against_that_is_missing_damaged_or_knows_none_of_the_classes_is_refused()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var missing = _temp.File("old.zip");
        var elsewhere = Directory.CreateDirectory(_temp.File("elsewhere")).FullName; // the same pictures under other names
        CopyFolder(Path.Combine(Train, "Bag"), Path.Combine(elsewhere, "Cat"));
        CopyFolder(Path.Combine(Train, "Sneaker"), Path.Combine(elsewhere, "Dog"));
        var other = Path.Combine(Out, "other");
        Assert.Equal(ExitCodes.Success, Run($"train --data {elsewhere} --epochs 1 --out {other} {Fast}").Exit);

        var (exit, output) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test} --against {missing}");
        var (noneExit, none) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test} --against {Path.Combine(other, "model.zip")}");

        Assert.Equal(ExitCodes.BadModel, exit);
        Assert.Contains($"--against {missing}: model file not found.", output.ReplaceLineEndings(" "));
        Assert.DoesNotContain("accuracy", output); // refused before scoring
        var notAModel = _temp.File("notes.zip");
        File.WriteAllText(notAModel, "not a model");
        var (badExit, bad) = Run($"evaluate --model {Path.Combine(Out, "model.zip")} --data {Test} --against {notAModel}");
        Assert.Equal(ExitCodes.BadModel, badExit);
        Assert.Contains(notAModel, bad);
        Assert.DoesNotContain("accuracy", bad); // loaded, and refused, before the first model scores anything
        Assert.Equal(ExitCodes.EmptyData, noneExit);
        Assert.Contains($"--against {Path.Combine(other, "model.zip")}: no image of {Test} was scored by both models (its classes: Cat, Dog).", none.ReplaceLineEndings(" "));
    }

    [Fact]
    public void Train_against_the_model_in_production_compares_them_on_the_test_images_as_evaluate_does()
    {
        var older = Path.Combine(Out, "old"); var newer = Path.Combine(Out, "new");
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --seed 2 --out {older} {Fast}").Exit);
        string oldModel = Path.Combine(older, "model.zip");

        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 3 --out {newer} --against {oldModel} {Fast}");
        var (missingExit, missing) = Run($"train --data {Train} --test {Test} --epochs 3 --out {Path.Combine(Out, "never")} --against {_temp.File("gone.zip")} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        var trained = JsonDocument.Parse(File.ReadAllText(Path.Combine(newer, "metrics.json"))).RootElement.GetProperty("test").GetProperty("against");
        var evaluateJson = _temp.File("evaluate.json");
        Assert.Equal(ExitCodes.Success, Run($"evaluate --model {Path.Combine(newer, "model.zip")} --data {Test} --against {oldModel} --json {evaluateJson}").Exit);
        var evaluated = JsonDocument.Parse(File.ReadAllText(evaluateJson)).RootElement.GetProperty("against");
        foreach (var name in new[] { "model", "images", "fixed", "broken", "leftOut", "accuracy", "againstAccuracy", "pValue", "againstSureAnswers" })
            Assert.True(JsonElement.DeepEquals(evaluated.GetProperty(name), trained.GetProperty(name)), $"{name}: {evaluated.GetProperty(name)} and {trained.GetProperty(name)}");
        Assert.Equal(evaluated.GetProperty("logLoss").GetDouble(), trained.GetProperty("logLoss").GetDouble(), 1e-4); // the fitted model and its zip
        Assert.Equal(9, trained.GetProperty("images").GetInt32());
        var text = output.ReplaceLineEndings(" ");
        Assert.Contains($"against {oldModel}: accuracy", System.Text.RegularExpressions.Regex.Replace(text.Replace('│', ' '), @"\s+", " "));
        Assert.Contains($"against {System.Net.WebUtility.HtmlEncode(oldModel)}: accuracy", File.ReadAllText(Path.Combine(newer, "report.html")));

        Assert.Equal(ExitCodes.BadModel, missingExit);
        Assert.Contains("--against", missing);
        Assert.False(Directory.Exists(Path.Combine(Out, "never", "model.zip")) || File.Exists(Path.Combine(Out, "never", "model.zip")), "refused before training");
        Assert.DoesNotContain("epoch", missing);
    }

    [Fact]
    public void Train_against_a_model_damaged_past_what_is_checked_before_training_keeps_its_model_and_report_and_says_why()
    {
        // the chain's header overwritten: the ONNX metadata train checks first still reads, loading it fails after training
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --seed 2 --out {Path.Combine(Out, "old")} {Fast}").Exit);
        var damaged = _temp.File("damaged.zip");
        File.Copy(Path.Combine(Out, "old", "model.zip"), damaged);
        using (var archive = System.IO.Compression.ZipFile.Open(damaged, System.IO.Compression.ZipArchiveMode.Update))
        {
            archive.GetEntry("TransformerChain/Model.key")!.Delete();
            using var stream = archive.CreateEntry("TransformerChain/Model.key").Open();
            stream.Write(Enumerable.Range(0, 128).Select(i => (byte)i).ToArray());
        }
        var newer = Path.Combine(Out, "new");

        var (exit, output) = Run($"train --data {Train} --test {Test} --epochs 2 --out {newer} --against {damaged} {Fast}");

        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains($"not compared: --against {damaged} could not be loaded", output.ReplaceLineEndings(" "));
        Assert.True(File.Exists(Path.Combine(newer, "model.zip")) && File.Exists(Path.Combine(newer, "report.html")));
        var test = JsonDocument.Parse(File.ReadAllText(Path.Combine(newer, "metrics.json"))).RootElement.GetProperty("test");
        Assert.True(!test.TryGetProperty("against", out var against) || against.ValueKind == JsonValueKind.Null);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}

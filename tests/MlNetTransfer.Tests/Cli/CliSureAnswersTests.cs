using System.Globalization;
using System.Text.Json;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>Answering only when sure, from the command line: train's metrics.json and report have the table, `predict --min-score`
/// answers "unsure" below the threshold (its CSV's sure column), and `evaluate --min-score` counts the same images as
/// answered that predict does.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliSureAnswersTests : CliSandbox
{
    [Fact]
    public void Predict_and_evaluate_answer_the_same_images_at_a_minimum_score_and_train_reports_every_threshold()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --test {Test} --epochs 3 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var csv = _temp.File("scores.csv");
        Assert.Equal(ExitCodes.Success, Run($"predict --model {model} {Test} --csv {csv}").Exit);
        // path, predicted, unfamiliar, then the scores
        var tops = File.ReadLines(csv).Skip(1).Select(line => line.Split(',').Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).Max()).ToList();
        double threshold = tops.Order().ElementAt(tops.Count / 2); // about half the images answered
        int expected = tops.Count(t => t >= threshold);
        string minScore = threshold.ToString("R", CultureInfo.InvariantCulture);

        var (predictExit, predicted) = Run($"predict --model {model} {Test} --csv {csv} --min-score {minScore}");
        var (evaluateExit, evaluated) = Run($"evaluate --model {model} --data {Test} --min-score {minScore} --target-accuracy 0.5 --json {_temp.File("eval.json")}");

        Assert.True(predictExit == ExitCodes.Success, predicted);
        var rows = File.ReadAllLines(csv);
        Assert.StartsWith("path,predicted,sure,unfamiliar,", rows[0]);
        var answers = rows.Skip(1).Select(r => r.Split(',')).Select(f => (Sure: f[2] == "true", Unfamiliar: f[3] == "true")).ToList();
        // an unfamiliar image is not answered, however sure its score: the sure column is false for it, as the web API's
        var byScore = answers.Zip(tops, (a, top) => (a.Sure, a.Unfamiliar, Reaches: top >= threshold)).ToList();
        Assert.Equal(expected, byScore.Count(a => a.Reaches));
        Assert.All(byScore, a => Assert.Equal(a.Reaches && !a.Unfamiliar, a.Sure));
        int unfamiliar = answers.Count(a => a.Unfamiliar), unsure = byScore.Count(a => !a.Reaches && !a.Unfamiliar);
        int answered = answers.Count(a => a.Sure), heldUnfamiliar = byScore.Count(a => a.Reaches && a.Unfamiliar);
        Assert.Equal(tops.Count, answered + unsure + unfamiliar);
        Assert.Equal(unsure, predicted.Split('\n').Count(l => l.Contains("│ unsure")));
        Assert.Equal(unfamiliar, predicted.Split('\n').Count(l => l.Contains("│ unfamiliar")));
        Assert.Contains($"{answered} of {tops.Count} image(s) answered, {unsure} unsure, {unfamiliar} unfamiliar", predicted);
        // evaluate counts as answered exactly the images predict answers
        Assert.True(evaluateExit == ExitCodes.Success, evaluated);
        Assert.Contains($"sure answers: Score ≥ {threshold:0.###}: {answered} of {tops.Count} images answered", evaluated);
        using var evaluation = JsonDocument.Parse(File.ReadAllText(_temp.File("eval.json")));
        var asked = evaluation.RootElement.GetProperty("sureAnswers").GetProperty("atMinScore");
        Assert.Equal(answered, asked.GetProperty("answered").GetInt32());
        Assert.Equal(heldUnfamiliar, asked.GetProperty("heldUnfamiliar").GetInt32());
        // --target-accuracy: the threshold for answers right at least half the time, or why there is none
        Assert.Contains("for answers at least 50.0 % right (95 % confidence): ", evaluated);
        var targeted = evaluation.RootElement.GetProperty("targetAccuracy");
        Assert.Equal((0.5, 0.95, tops.Count), (targeted.GetProperty("target").GetDouble(), targeted.GetProperty("confidence").GetDouble(), targeted.GetProperty("images").GetInt32()));

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out, "metrics.json")));
        var tested = metrics.RootElement.GetProperty("test").GetProperty("sureAnswers").GetProperty("byMinScore").EnumerateArray()
            .Select(r => (MinScore: r.GetProperty("minScore").GetDouble(), Answered: r.GetProperty("answered").GetInt32(), Images: r.GetProperty("images").GetInt32())).ToList();
        Assert.Equal([0.5, 0.7, 0.8, 0.9, 0.95, 0.99], tested.Select(r => r.MinScore));
        Assert.All(tested, r => Assert.Equal(tops.Count, r.Images));
        Assert.Equal(tested.Select(r => r.Answered).OrderDescending(), tested.Select(r => r.Answered));
        Assert.Equal(answers.Zip(tops).Count(a => a.Second >= 0.5 && !a.First.Unfamiliar), tested[0].Answered); // train's test images are predict's
        var html = File.ReadAllText(Path.Combine(Out, "report.html"));
        Assert.Contains($"<tr><td>0.9</td><td>{tested[3].Answered} (", html);
        // the model flags unfamiliar images, so the report's rule and table say so
        Assert.Contains("prediction.Score.Max() &gt;= 0.9f &amp;&amp; !prediction.Unfamiliar", html);
        Assert.Contains("<th>of those left, sure but unfamiliar</th>", html);
        // and the threshold shown for 90, 95 and 99 % right answers, or that these few test images show none
        var targets = metrics.RootElement.GetProperty("test").GetProperty("sureAnswers").GetProperty("forTargetAccuracy").EnumerateArray().ToList();
        Assert.Equal([0.9, 0.95, 0.99], targets.Select(t => t.GetProperty("target").GetDouble()));
        Assert.All(targets, t => Assert.Equal(tops.Count, t.GetProperty("images").GetInt32()));
        foreach (var target in new[] { "90.0", "95.0", "99.0" })
            Assert.Contains($"<li>for answers at least {target} % right (95 % confidence): ", html);
    }

    [Fact]
    public void A_minimum_score_outside_zero_to_one_is_refused_before_the_model_is_read()
    {
        var (exit, output) = Run($"predict --model {_temp.File("no-model.zip")} {Test} --min-score 90");
        var (targetExit, target) = Run($"evaluate --model {_temp.File("no-model.zip")} --data {Test} --target-accuracy 95");

        Assert.Equal(ExitCodes.BadOption, exit);
        Assert.Contains("--min-score: must be a score from 0 to 1 (such as 0.9), not 90", output.ReplaceLineEndings(" "));
        Assert.Equal(ExitCodes.BadOption, targetExit);
        Assert.Contains("--target-accuracy: must be an accuracy between 0 and 1 (such as 0.98), not 95", target.ReplaceLineEndings(" "));
    }

    [Fact]
    public void A_class_named_like_a_column_of_predicts_csv_gets_a_score_column_of_its_own()
    {
        // two classes named as predict's own columns: Bag images are "unfamiliar", Sneaker images "path"
        var data = _temp.File("named.csv");
        File.WriteAllLines(data, ["filename,target",
            .. Directory.GetFiles(Path.Combine(Train, "Bag")).Select(f => $"{f},unfamiliar"),
            .. Directory.GetFiles(Path.Combine(Train, "Sneaker")).Select(f => $"{f},path")]);
        var (exit, output) = Run($"train --data {data} --epochs 1 --out {Out} {Fast}");
        Assert.True(exit == ExitCodes.Success, output);
        var csv = _temp.File("scores.csv");
        (exit, output) = Run($"predict --model {Path.Combine(Out, "model.zip")} {Path.Combine(Test, "Bag")} --csv {csv} --min-score 0.5");
        Assert.True(exit == ExitCodes.Success, output);

        var lines = File.ReadAllLines(csv);
        var header = lines[0].Split(',');
        Assert.Equal(["path", "predicted", "sure", "unfamiliar"], header[..4]);
        Assert.Equal(["score:path", "score:unfamiliar"], header[4..].Order());
        Assert.All(lines.Skip(1).Select(l => l.Split(',')), f =>
        {
            Assert.Contains(f[3], new[] { "true", "false" }); // the flag, not a score
            Assert.Equal(1, f[4..].Sum(v => double.Parse(v, CultureInfo.InvariantCulture)), 3);
        });
        // a renamed column never takes another class's name
        Assert.Equal(["score:score:a", "score:a", "b"], Cli.Commands.PredictCommand.ScoreColumns(["a", "score:a", "b"], ["path", "a"]));
    }
}

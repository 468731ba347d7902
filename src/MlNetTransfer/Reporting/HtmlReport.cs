using System.Net;
using System.Text;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>A single self-contained HTML page: summary, the data checks' findings with thumbnails, per-class table,
/// the charts and a gallery of the test images the model got most wrong, all embedded.</summary>
public static class HtmlReport
{
    public static string Render(TrainingReport r, byte[] curves, byte[] confusion, byte[]? reliability, string imageRoot)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>MlNetTransfer training report</title><style>")
            .Append("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
            .Append("th{background:#f3f3f3}td:first-child{text-align:left}.gallery{display:flex;flex-wrap:wrap;gap:12px}.gallery figure{margin:0;width:150px;font-size:12px}")
            .Append(".gallery figure:has(img+img){width:300px}.gallery img{width:140px;height:140px;object-fit:contain;image-rendering:pixelated;border:1px solid #ccc}</style></head><body>");
        html.Append("<h1>Training report</h1>");
        if (ChanceCheck.Of(r.Test) is { NoBetterThanGuessing: true } guessing)
            html.Append("<p style=\"color:#a40\"><b>No better than guessing:</b> ").Append(Encode(guessing.Describe())).Append(".</p>");
        html.Append("<table>");
        Row(html, "test accuracy (micro)", r.Test.MicroAccuracy.ToString("P1"));
        Row(html, "test accuracy (macro)", r.Test.MacroAccuracy.ToString("P1"));
        if (r.Test.TopKAccuracy is { } topK) Row(html, $"test accuracy (top {ClassificationReport.TopK})", topK.ToString("P1"));
        Row(html, "log-loss", r.Test.LogLoss.ToString("0.0000"));
        Row(html, "test images", $"{r.Test.Images} ({r.TestSource})");
        if (r.Against is { } against) Row(html, "against", against.Describe());
        var run = r.Run;
        Row(html, "architecture / weights", $"{run.Architecture} / {run.Weights}");
        Row(html, "strategy", $"{run.Strategy}: {run.StrategyReason}");
        Row(html, "test-time flip", run.Flip.Reason);
        Row(html, "device", run.Device);
        Row(html, "image size", $"{run.ImageSize} px{(run.Training.BatchSize is { } batch ? $", batches of {batch}" : "")}");
        Row(html, "training", $"{r.TrainImages} images, {run.Training.History.Count} epochs (best {run.Training.BestEpoch}" +
            $"{(run.Training.StopReason is { } why ? $", stopped early: {why}" : run.Training.StoppedEarly ? ", stopped early" : "")}), {r.TrainTime}");
        Row(html, "skipped images", r.SkippedImages.Count == 0 ? "none" : $"{r.SkippedImages.Count}: {string.Join("; ", r.SkippedImages.Take(10))}");
        html.Append("</table>");
        DataHealthSection.Render(html, r, imageRoot);
        html.Append("<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>");
        foreach (var c in r.Test.PerClass)
            html.Append($"<tr><td>{Encode(c.Class)}</td><td>{c.Precision:P1}</td><td>{c.Recall:P1}</td><td>{c.F1:0.000}</td><td>{c.Support}</td></tr>");
        html.Append("</table><h2>Training curves</h2>").Append(Image(curves, "training curves"))
            .Append("<h2>Confusion matrix</h2>").Append(Image(confusion, "confusion matrix"));
        if (reliability != null && r.Calibration is { } calibration)
            html.Append("<h2>How far to trust a score</h2><p>").Append(Encode(CalibrationText(r.Run.Calibration, calibration))).Append("</p>")
                .Append(Image(reliability, "reliability diagram"));
        SureAnswersTable(html, r.Test);
        html
            .Append("<h2>Top losses</h2><p>The test images the model was most confidently wrong about.</p><div class=\"gallery\">");
        foreach (var image in r.Test.TopLosses)
        {
            var picture = (image.Picture ?? Picture(Path.Combine(imageRoot, image.File), r.MaxImagePixels)) is { } shown
                ? $"<img src=\"data:{shown.Mime};base64,{Convert.ToBase64String(shown.Bytes)}\" alt=\"{Encode(image.File)}\">" : "";
            html.Append($"<figure>{picture}{Heatmap(r, imageRoot, image.File)}<figcaption>{Encode(image.File)}<br>actual <b>{Encode(r.Test.Classes[image.Truth])}</b> " +
                        $"({image.Scores[image.Truth]:P0})<br>predicted <b>{Encode(r.Test.Classes[image.Predicted])}</b> ({image.Scores[image.Predicted]:P0})</figcaption></figure>");
        }
        html.Append("</div>");
        if (r.Heatmaps.Count > 0)
        {
            html.Append("<h2>Where the model looks</h2><p>Grad-CAM on the network's last convolutional stage: red where the evidence for the " +
                        "class named lies (in the top losses above, for the class it wrongly predicted). Here, the image of each class it was surest of.</p><div class=\"gallery\">");
            foreach (var image in r.Test.SurestRight)
                html.Append($"<figure>{Heatmap(r, imageRoot, image.File)}<figcaption>{Encode(image.File)}<br><b>{Encode(r.Test.Classes[image.Truth])}</b> " +
                            $"({image.Scores[image.Truth]:P0})</figcaption></figure>");
            html.Append("</div>");
        }
        html.Append("</body></html>");
        return html.ToString();
    }

    static string CalibrationText(Engine.Recipe.Calibration fitted, CalibrationReport test) => !fitted.Applied
        ? $"Scores are not calibrated ({fitted.Describe()}). On the {test.Images} test images a top score's mean differs from how often it is right by {test.EceAfter:P1} (expected calibration error)."
        : $"Score is calibrated: {fitted.Describe()}. On the {test.Images} test images the expected calibration error goes from {test.EceBefore:P1} to " +
          $"{test.EceAfter:P1} and the log-loss from {test.LogLossBefore:0.000} to {test.LogLossAfter:0.000}; predictions are the same. " +
          "Each dot is a bin of images by top score: on the diagonal, a score of 0.9 is right 9 times in 10.";

    /// <summary>What answering only at a minimum score gets on the test images, by score and by share of the surest.</summary>
    static void SureAnswersTable(StringBuilder html, ClassificationReport test)
    {
        bool flags = test.Unfamiliar != null;
        html.Append("<h2>Answering only when sure</h2><p>An app can act on the answers whose top score reaches a minimum and leave the rest to a person ")
            .Append(flags
                ? "with the images the model calls unfamiliar (<code>predict --min-score 0.9</code>; in code, <code>prediction.Score.Max() &gt;= 0.9f &amp;&amp; !prediction.Unfamiliar</code>). On the "
                : "(<code>predict --min-score 0.9</code>; in code, <code>prediction.Score.Max() &gt;= 0.9f</code>). On the ")
            .Append(test.Images).Append(" test images:</p><table><tr><th>answer when Score ≥</th><th>answered</th><th>right</th><th>left to a person: the model had right</th>")
            .Append(flags ? "<th>of those left, sure but unfamiliar</th>" : "").Append("</tr>");
        foreach (var row in test.SureByScore) SureRow(html, row.MinScore.ToString("0.###"), row, flags);
        foreach (var row in test.SureByShare)
            SureRow(html, $"{row.MinScore:0.###} (the surest {(double)row.Answered / row.Images:P0})", row, flags);
        html.Append("</table><p>The lowest minimum score these test images show, with 95 % confidence, to give answers right at least as often as asked ")
            .Append("(an exact binomial test, thresholds tried from the surest images down; <code>evaluate --target-accuracy</code> on other labelled images):</p><ul>");
        foreach (var target in test.ForTargets) html.Append("<li>").Append(Encode(target.Describe())).Append("</li>");
        html.Append("</ul>");
        html.Append("<p>A score cannot keep out images of classes the model never saw: it spreads them over the classes it knows, sometimes surely. ");
        html.Append(test.Unfamiliar is { } unfamiliar
            ? $"The model also says which images are unlike every image it was trained on (the <code>Unfamiliar</code> column; <code>predict</code> answers them 'unfamiliar'): of these test images, {Encode(unfamiliar.Describe())}.</p>"
            : "This model does not say which images are unfamiliar (trained with that turned off).</p>");
    }

    static void SureRow(StringBuilder html, string threshold, SureAnswers row, bool flags) =>
        html.Append($"<tr><td>{Encode(threshold)}</td><td>{row.Answered} ({row.Coverage:P0})</td><td>{(row.Accuracy is { } a ? a.ToString("P1") : "–")}</td>" +
                    $"<td>{(row.RestAccuracy is { } rest ? $"{rest:P1} of {row.Images - row.Answered}" : "–")}</td>" +
                    (flags ? $"<td>{row.HeldUnfamiliar}</td>" : "") + "</tr>");

    /// <summary>The picture of a gallery image that scoring did not keep: decoded again, as the model reads it.</summary>
    static GalleryPicture? Picture(string path, long maxPixels)
    {
        using var decoded = Imaging.ImageDecoder.Decode(path, GalleryPicture.Side, maxPixels);
        return decoded.Bitmap == null ? null : GalleryPicture.Of(decoded.Bitmap);
    }

    /// <summary>The image with where the network looked laid over it, when the report has its map.</summary>
    static string Heatmap(TrainingReport r, string imageRoot, string file) =>
        r.Heatmaps.TryGetValue(file, out var map) && HeatmapPicture.Of(Path.Combine(imageRoot, file), map, r.MaxImagePixels) is { } picture
            ? $"<img src=\"data:{picture.Mime};base64,{Convert.ToBase64String(picture.Bytes)}\" alt=\"where the model looked in {Encode(file)}\">"
            : "";

    static void Row(StringBuilder html, string name, string value) => html.Append($"<tr><th>{Encode(name)}</th><td>{Encode(value)}</td></tr>");

    static string Image(byte[] png, string alt) => $"<img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"{alt}\">";

    static string Encode(string text) => WebUtility.HtmlEncode(text);
}

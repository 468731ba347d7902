using System.Net;
using System.Text;
using MlNetTransfer.Engine.Health;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>The report's data-health section: what the checks found, and the surest flagged images of each kind with
/// their thumbnails (a duplicate or a leak beside the image it copies).</summary>
public static class DataHealthSection
{
    /// <summary>Images per kind in the report (metrics.json lists them all).</summary>
    public const int Shown = 24;

    public static void Render(StringBuilder html, TrainingReport r, string testRoot)
    {
        var health = r.DataHealth;
        html.Append("<h2>Data health</h2>");
        if (!health.Checked)
        {
            html.Append("<p>The data was not checked in this run (--no-data-checks, or a resumed run); <code>mlnet-transfer check</code> checks it before training.</p>");
            return;
        }
        html.Append("<p>").Append(Encode($"Checked on the features the classifier was solved on: {health.Describe()}.")).Append("</p>");
        if (health.Count(DataIssueKind.Leak) > 0)
            html.Append("<p><b>").Append(Encode($"{health.Count(DataIssueKind.Leak)} test image(s) have a copy among the training images: the test accuracy above overstates what the model does on new images.")).Append("</b></p>");
        var trainRoot = r.TrainImageRoot ?? testRoot;
        foreach (var kind in Enum.GetValues<DataIssueKind>())
        {
            var some = r.DataIssues.Where(f => f.Kind == FlaggedImage.Name(kind)).Take(Shown).ToList();
            if (some.Count == 0) continue;
            html.Append($"<h3>{Encode(Title(kind))} ({health.Count(kind)}{(health.Count(kind) > some.Count ? $", the surest {some.Count} shown" : "")})</h3><div class=\"gallery\">");
            foreach (var f in some)
            {
                var own = Path.Combine(DataIssue.OfTestImages(kind) ? testRoot : trainRoot, f.Path);
                html.Append("<figure>").Append(Thumbnail(own, f.Path, r.MaxImagePixels));
                if (f.Other != null) html.Append(Thumbnail(Path.Combine(trainRoot, f.Other), f.Other, r.MaxImagePixels));
                html.Append("<figcaption>").Append(Encode(f.Path)).Append("<br>label <b>").Append(Encode(f.Label ?? "—")).Append("</b>");
                if (f.Suggested != null) html.Append("<br>likely <b>").Append(Encode(f.Suggested)).Append("</b>");
                if (f.Other != null) html.Append("<br>copy of ").Append(Encode(f.Other));
                html.Append($"<br>score {f.Score:0.000}</figcaption></figure>");
            }
            html.Append("</div>");
        }
    }

    static string Title(DataIssueKind kind) => kind switch
    {
        DataIssueKind.LabelError => "Likely label errors",
        DataIssueKind.Duplicate => "Duplicates in the training images",
        DataIssueKind.Leak => "Test images copied in training",
        DataIssueKind.Unfamiliar => "Test images unlike the training images",
        _ => "Outliers: far from every class",
    };

    static string Thumbnail(string path, string alt, long maxPixels)
    {
        using var decoded = Imaging.ImageDecoder.Decode(path, GalleryPicture.Side, maxPixels);
        if (decoded.Bitmap == null) return "";
        var picture = GalleryPicture.Of(decoded.Bitmap);
        return $"<img src=\"data:{picture.Mime};base64,{Convert.ToBase64String(picture.Bytes)}\" alt=\"{Encode(alt)}\">";
    }

    static string Encode(string text) => WebUtility.HtmlEncode(text);
}

using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.Imaging;
using MlNetTransfer.MlNet;
using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli;

/// <summary>Scores a labelled image set with a fitted or loaded model, in the class order of the model's Score:
/// every file decoded once, as training read it, on every core (<see cref="ImageFileScorer"/>); the pictures of the
/// worst-scored images kept from that decode for the report's gallery.</summary>
public static class ModelScoring
{
    /// <summary>The scored images of classes the model knows (in the set's order) and the images that could not be
    /// decoded ("path: why", paths relative to the set's root).</summary>
    public sealed record Result(List<ScoredImage> Scored, IReadOnlyList<string> Unreadable);

    public static Result Score(MLContext mlContext, ITransformer model, LabelledImageSet set, IReadOnlyList<string> classes, int side,
        long maxPixels = ImageDecoder.DefaultMaxPixels, int galleryPictures = ClassificationReport.DefaultTopLosses, PhaseProgress? progress = null)
    {
        var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        // a class the model never saw cannot be scored against: its images are not even decoded
        var rows = set.Rows.Where(r => index.ContainsKey(r.Label)).ToList();
        var truth = rows.Select(r => index[r.Label]).ToArray();
        var pictures = new TopLossPictures(galleryPictures);
        var results = new ImageFileScorer(mlContext, model, side, maxPixels)
            .Score(rows.Select(r => Path.Combine(set.Root, r.ImagePath)).ToList(),
                (i, bitmap, scores) => pictures.Offer(i, -Math.Log(Math.Max(scores[truth[i]], 1e-15)), bitmap), progress: progress);
        var scored = new List<ScoredImage>();
        var unreadable = new List<string>();
        for (int i = 0; i < rows.Count; i++)
        {
            if (results[i].Scores is { } scores)
                scored.Add(new ScoredImage(rows[i].ImagePath, truth[i], scores) { Picture = pictures.Of(i), Unfamiliar = results[i].Unfamiliar });
            else unreadable.Add($"{rows[i].ImagePath}: {results[i].Problem}");
        }
        return new Result(scored, unreadable);
    }

    /// <summary>The pictures of the images with the highest losses seen so far (thread-safe): a picture is made only
    /// when its image enters the top, so scoring thousands of photos encodes a few dozen thumbnails.</summary>
    sealed class TopLossPictures(int capacity)
    {
        readonly SortedSet<(double Loss, int Index)> _top = new();
        readonly Dictionary<int, GalleryPicture> _pictures = new();

        public void Offer(int index, double loss, SkiaSharp.SKBitmap bitmap)
        {
            if (capacity <= 0) return;
            lock (_top)
            {
                if (_top.Count == capacity && (loss, -index).CompareTo(_top.Min) <= 0) return;
            }
            var picture = GalleryPicture.Of(bitmap); // outside the lock: the other workers go on scoring
            lock (_top)
            {
                _top.Add((loss, -index)); // ties: the earlier image ranks higher, as the report's stable sort has it
                _pictures[index] = picture;
                while (_top.Count > capacity)
                {
                    _pictures.Remove(-_top.Min.Index);
                    _top.Remove(_top.Min);
                }
            }
        }

        public GalleryPicture? Of(int index) => _pictures.GetValueOrDefault(index);
    }
}

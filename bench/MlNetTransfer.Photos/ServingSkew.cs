using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Photos;

/// <summary>
/// What a saved model answers for the same test photos, read three ways: as training read them (this project's
/// decode: the smallest JPEG scale that covers the side, upright), decoded at full size but upright (what the scaled
/// decode alone changes), and as a plain ML.NET app serves the zip from paths (LoadImages: full size, as stored).
/// Per way: accuracy, and against the first, the share of images whose class changes and the score differences.
/// </summary>
public static class ServingSkew
{
    public sealed record Way(string Name, double Accuracy, double SameClass, double MeanAbsScoreDifference, double MaxAbsScoreDifference,
        double TurnedAccuracy, double UprightAccuracy);

    public static IReadOnlyList<Way> Measure(string zip, IReadOnlyList<string> files, IReadOnlySet<string> turned)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(zip, out _);
        var info = TransferModelFile.ReadMetadata(zip);
        var truth = files.Select(f => info.ClassNames.ToList().IndexOf(Path.GetFileName(Path.GetDirectoryName(f))!)).ToArray();
        var asTrained = Scores(new ImageFileScorer(ml, model, info.Preprocessing.InputSize).Score(files));
        var fullUpright = Scores(new ImageFileScorer(ml, model, side: 1 << 20).Score(files)); // no JPEG scale covers that: full size
        var loadImages = LoadImagesScores(ml, model, files);
        return [Compare("as trained (scaled decode, upright)", asTrained), Compare("full-size decode, upright", fullUpright),
            Compare("plain ML.NET LoadImages (full size, as stored)", loadImages)];

        Way Compare(string name, float[][] scores)
        {
            var differences = scores.Zip(asTrained).SelectMany(p => p.First.Zip(p.Second, (a, b) => (double)Math.Abs(a - b))).ToList();
            bool Right(int i) => ArgMax(scores[i]) == truth[i];
            double Accuracy(Func<int, bool> which) =>
                Enumerable.Range(0, files.Count).Where(which).DefaultIfEmpty(-1).Average(i => i < 0 ? double.NaN : Right(i) ? 1 : 0);
            return new Way(name, Accuracy(_ => true), Enumerable.Range(0, files.Count).Average(i => ArgMax(scores[i]) == ArgMax(asTrained[i]) ? 1.0 : 0),
                differences.Average(), differences.Max(), Accuracy(i => turned.Contains(files[i])), Accuracy(i => !turned.Contains(files[i])));
        }
    }

    static float[][] Scores(IReadOnlyList<ImageFileScorer.Result> results) =>
        results.Select(r => r.Scores ?? throw new InvalidDataException($"{r.Path}: {r.Problem}")).ToArray();

    /// <summary>Paths through the zip's own LoadImages, one PredictionEngine per core.</summary>
    static float[][] LoadImagesScores(MLContext ml, ITransformer model, IReadOnlyList<string> files)
    {
        var scores = new float[files.Count][];
        var engines = new System.Collections.Concurrent.ConcurrentBag<PredictionEngine<PathRow, ScoreRow>>(Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => ml.Model.CreatePredictionEngine<PathRow, ScoreRow>(model, new PredictionEngineOptions { OwnsTransformer = false })));
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            engines.TryTake(out var engine);
            try
            {
                scores[i] = engine!.Predict(new PathRow { ImagePath = files[i] }).Score.ToArray();
            }
            finally
            {
                engines.Add(engine!);
            }
        });
        foreach (var engine in engines) engine.Dispose();
        return scores;
    }

    static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());

    sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }
}

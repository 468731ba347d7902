using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Cli.Reporting;

namespace MlNetTransfer.Cli;

/// <summary>Scores a labelled image set with a fitted or loaded model, in the class order of the model's Score.</summary>
public static class ModelScoring
{
    /// <summary>Rows with absolute image paths, so any model scores them whatever folder it was trained from.</summary>
    public static IDataView Rows(MLContext mlContext, LabelledImageSet set) =>
        mlContext.Data.LoadFromEnumerable(set.Rows.Select(r => new LabelledImage { ImagePath = Path.Combine(set.Root, r.ImagePath), Label = r.Label }));

    public static List<ScoredImage> Score(MLContext mlContext, ITransformer model, LabelledImageSet set, IReadOnlyList<string> classes)
    {
        var scored = model.Transform(Rows(mlContext, set));
        var scores = scored.GetColumn<float[]>("Score").ToList();
        var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var result = new List<ScoredImage>();
        for (int i = 0; i < set.Rows.Count; i++)
        {
            // a class the model never saw cannot be scored against
            if (index.TryGetValue(set.Rows[i].Label, out int truth))
                result.Add(new ScoredImage(set.Rows[i].ImagePath, truth, scores[i]));
        }
        return result;
    }
}

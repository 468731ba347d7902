namespace MlNetTransfer.Cli.Reporting;

/// <summary>
/// What acting on sure answers alone gets (selective classification): the model answers an image when its top score
/// reaches <see cref="MinScore"/> and it does not call the image unfamiliar, and leaves the rest to a person — the rule
/// `predict --min-score` and the web API answer by. Of <see cref="Images"/> labelled images, of which the model gets
/// <see cref="RightInAll"/> right, <see cref="Answered"/> are answered and <see cref="Right"/> of those right;
/// <see cref="HeldUnfamiliar"/> reached the score but were left to a person as unfamiliar.
/// Calibrated scores make a threshold mean what it says on images like the validation ones (answers at Score ≥ 0.9
/// right about 9 times in 10 or more); on others — another camera, classes the model never saw — the table measured on
/// them is what to go by.
/// </summary>
public sealed record SureAnswers(double MinScore, int Answered, int Right, int Images, int RightInAll, int HeldUnfamiliar = 0)
{
    /// <summary>The minimum scores the report's table shows.</summary>
    public static IReadOnlyList<double> Thresholds { get; } = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99];

    /// <summary>The shares of the surest images the report's second table answers: what the rest get when a person
    /// checks the least sure half, fifth or tenth.</summary>
    public static IReadOnlyList<double> Shares { get; } = [0.5, 0.8, 0.9];

    /// <summary>The minimum score the console's one line and <c>evaluate</c> use unless told another.</summary>
    public const double DefaultMinScore = 0.9;

    /// <summary>The share of the images answered.</summary>
    public double Coverage => (double)Answered / Images;

    /// <summary>The share of the answers that are right; null when none is answered.</summary>
    public double? Accuracy => Answered == 0 ? null : (double)Right / Answered;

    /// <summary>The share of the images left to a person that the model would have got right; null when none is left.</summary>
    public double? RestAccuracy => Answered == Images ? null : (double)(RightInAll - Right) / (Images - Answered);

    /// <summary>The images answered at <paramref name="minScore"/> (<see cref="IsAnswered"/>), and how many of them are right.</summary>
    public static SureAnswers At(IReadOnlyList<ScoredImage> scored, double minScore)
    {
        int answered = 0, right = 0, rightInAll = 0, held = 0;
        foreach (var image in scored)
        {
            bool isRight = image.Predicted == image.Truth, answers = IsAnswered(image.Scores, image.Unfamiliar, minScore);
            if (isRight) rightInAll++;
            if (answers) answered++;
            if (answers && isRight) right++;
            if (!answers && IsSure(image.Scores, minScore)) held++;
        }
        return new SureAnswers(minScore, answered, right, scored.Count, rightInAll, held);
    }

    /// <summary>The <paramref name="share"/> of the images the model is surest of: the threshold is the top score of the
    /// last of them, so images tied with it are answered too. Images the model calls unfamiliar are not among them (they
    /// are left to a person whatever their score); where too few others are left, all of those are answered.</summary>
    public static SureAnswers Surest(IReadOnlyList<ScoredImage> scored, double share)
    {
        if (scored.Count == 0) throw new ArgumentException("no scored images", nameof(scored));
        var tops = scored.Where(s => s.Unfamiliar != true).Select(s => (double)s.Scores.Max()).OrderDescending().ToArray();
        if (tops.Length == 0) return At(scored, 0); // every image unfamiliar: none answered
        int count = Math.Clamp((int)Math.Ceiling(share * scored.Count - 1e-9), 1, tops.Length);
        return At(scored, tops[count - 1]);
    }

    /// <summary>Whether an image with <paramref name="scores"/> is answered at <paramref name="minScore"/>: compared as
    /// the scores are held (float), so a score shown as 0.9 is answered at 0.9.</summary>
    public static bool IsSure(float[] scores, double minScore) => scores.Max() >= (float)minScore;

    /// <summary>Whether the model answers an image at <paramref name="minScore"/>: its score is sure and the model does
    /// not call it unfamiliar (<paramref name="unfamiliar"/> null: the model does not say) — an image of no class the
    /// model knows is left to a person however sure its score.</summary>
    public static bool IsAnswered(float[] scores, bool? unfamiliar, double minScore) => unfamiliar != true && IsSure(scores, minScore);

    /// <summary>"Score ≥ 0.9: 412 of 500 images answered (82 %), 97.1 % right; of the 88 left to a person (3 of them sure
    /// but unfamiliar) it had 62.5 % right".</summary>
    public string Describe() =>
        (Answered == 0 ? $"Score ≥ {MinScore:0.###}: none of the {Images} images answered"
            : $"Score ≥ {MinScore:0.###}: {Answered} of {Images} images answered ({Coverage:P0}), {Accuracy:P1} right") +
        (RestAccuracy is { } rest
            ? $"; of the {Images - Answered} left to a person{(HeldUnfamiliar > 0 ? $" ({HeldUnfamiliar} of them sure but unfamiliar)" : "")} it had {rest:P1} right"
            : "");
}

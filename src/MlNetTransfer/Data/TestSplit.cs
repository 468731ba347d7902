using MlNetTransfer.Engine.Training;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// What a `train` run trains and tests on, settled before any work: the --test set, or a stratified share of --data
/// held out. Test images of classes the training data lacks cannot be scored against; they are left out of the
/// metrics (not counted as errors) and named in <see cref="UnknownClasses"/>.
/// </summary>
public sealed record TestSplit(LabelledImageSet Train, LabelledImageSet Test, string Source, IReadOnlyDictionary<string, int> UnknownClasses)
{
    /// <summary>The share of --data held out when no --test is given.</summary>
    public const double HeldOutFraction = 0.2;

    /// <summary>Without --test, each class needs one image to hold out and one to train on.</summary>
    public const int MinimumPerClass = 2;

    /// <summary>Said with the source when test images are training images too (the same files): their score is not a
    /// test of generalisation. Allowed — a check on the training data is a choice — but never silent.</summary>
    static string Shared(LabelledImageSet train, LabelledImageSet test)
    {
        var trained = train.Rows.Select(r => Path.GetFullPath(Path.Combine(train.Root, r.ImagePath))).ToHashSet(StringComparer.Ordinal);
        int shared = test.Rows.Count(r => trained.Contains(Path.GetFullPath(Path.Combine(test.Root, r.ImagePath))));
        return shared == 0 ? "" : $"; {shared} of its {test.Rows.Count} images are training images too, so the test accuracy overstates";
    }

    /// <summary>The split of <paramref name="data"/>: the images at <paramref name="testPath"/> (read as
    /// <paramref name="data"/> was: <paramref name="maxPixels"/>, a CSV's <paramref name="columns"/>), or a stratified
    /// <see cref="HeldOutFraction"/> of it.</summary>
    public static TestSplit Of(LabelledImageSet data, string? testPath, bool strict, int seed, long maxPixels = Imaging.ImageDecoder.DefaultMaxPixels,
        CsvColumns? columns = null)
    {
        if (testPath != null)
        {
            var test = LabelledImageSet.Load(testPath, strict, requireTwoClasses: false, maxPixels, columns,
                withoutClasses: $"the test measures the model against them; leave --test out to hold out {HeldOutFraction.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)} of --data, " +
                    $"and check them for copies of training images and for images unlike them with check --data {data.Source} --test {testPath}");
            var (known, unknown) = KnownTo(data, test, testPath);
            return new TestSplit(data, known, testPath + Shared(data, known), unknown);
        }

        var small = data.Rows.GroupBy(r => r.Label).Where(g => g.Count() < MinimumPerClass).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (small.Count > 0)
            throw new CliException(ExitCodes.TooFewImages,
                $"{data.Source}: {small.Count} of {data.Classes.Count} classes have fewer than {MinimumPerClass} images: " +
                string.Join(", ", small.Take(10).Select(g => $"{g.Key} ({g.Count()})")) + (small.Count > 10 ? ", ..." : "") +
                ". Without --test one image of each class is held out for the report and the rest train: add images to these classes, " +
                "leave them out, or pass --test <folder|csv>.");
        var index = data.Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var (trainRows, testRows) = StratifiedSplit.Split(data.Rows.Select(r => index[r.Label]).ToList(), HeldOutFraction, seed);
        string source = $"{testRows.Count} of {data.Rows.Count} images ({100.0 * testRows.Count / data.Rows.Count:0} %) of {data.Source} held out, stratified";
        return new TestSplit(data.Subset(trainRows), data.Subset(testRows), source, new Dictionary<string, int>());
    }

    /// <summary>The images of <paramref name="test"/> (read from <paramref name="testPath"/>) whose classes the training
    /// <paramref name="data"/> has, and the counts of those it lacks; none known is an error that names both sets' classes.</summary>
    public static (LabelledImageSet Known, IReadOnlyDictionary<string, int> Unknown) KnownTo(LabelledImageSet data, LabelledImageSet test, string testPath)
    {
        var unknown = UnknownIn(test, data.Classes);
        var known = unknown.Count == 0 ? test : test.OfClasses(data.Classes);
        if (known.Rows.Count == 0)
            throw new CliException(ExitCodes.EmptyData,
                $"{testPath}: none of its classes ({string.Join(", ", test.Classes.Take(10))}) is one of the training data's ({string.Join(", ", data.Classes.Take(10))}).");
        return (known, unknown);
    }

    /// <summary>Image counts of the classes in <paramref name="set"/> that are not in <paramref name="known"/>, by name.</summary>
    public static IReadOnlyDictionary<string, int> UnknownIn(LabelledImageSet set, IReadOnlyList<string> known)
    {
        var names = known.ToHashSet(StringComparer.Ordinal);
        return set.Rows.Where(r => !names.Contains(r.Label)).GroupBy(r => r.Label).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>"12 image(s) of classes the model does not know (Hat 7, Scarf 5) are left out of the metrics".</summary>
    public static string DescribeUnknown(IReadOnlyDictionary<string, int> unknown, string whose, string leftOutOf = MetricsLeftOut) =>
        $"{unknown.Values.Sum()} image(s) of classes {whose} does not know ({string.Join(", ", unknown.Take(10).Select(kv => $"{kv.Key} {kv.Value}"))}" +
        $"{(unknown.Count > 10 ? ", ..." : "")}) are left out of {leftOutOf}";

    /// <summary>What test images of unknown classes are left out of when a model is scored.</summary>
    public const string MetricsLeftOut = "the metrics, not counted as errors";
}

using MlNetTransfer.Imaging;

namespace MlNetTransfer.Cli.Data;

/// <summary>
/// Labelled images from a folder with one sub-folder per class (Model Builder's convention) or from a CSV with
/// image path and class columns (<see cref="CsvColumns"/>; paths relative to the CSV's folder). Every image's header is read up front (no
/// pixel is decoded here: training and scoring decode each file once, and find truncated ones then): a missing file,
/// one that is not an image, one over the pixel limit, or a CSV row naming an image listed before, is reported by
/// name and skipped, or fails the command with <c>--strict</c>; a CSV that gives one image two targets is refused.
/// </summary>
public sealed class LabelledImageSet
{
    /// <summary>The file extensions treated as images, in folders given to train, evaluate and predict.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".bmp", ".gif", ".webp" }; // .jfif, .jpe: JPEGs by other names (Windows saves downloads so)

    LabelledImageSet(string source, string root, List<LabelledImage> rows, List<string> skipped,
        NotImageFiles? notImages = null, IReadOnlyList<string>? turned = null, ClassFolderFiles? folder = null,
        IReadOnlyList<string>? leftOutClasses = null)
    {
        Source = source; Root = root; Rows = rows; Skipped = skipped; NotImages = notImages ?? NotImageFiles.None; Turned = turned ?? [];
        _folder = folder; LeftOutClasses = leftOutClasses ?? [];
        Classes = rows.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The folder or CSV the set was read from.</summary>
    public string Source { get; }

    /// <summary>The folder image paths are relative to.</summary>
    public string Root { get; }

    public IReadOnlyList<LabelledImage> Rows { get; }

    /// <summary>Each row's image path, as the folder or CSV gives it (relative to <see cref="Root"/>).</summary>
    public IReadOnlyList<string> Paths() => Rows.Select(r => r.ImagePath).ToList();

    /// <summary>"file: reason" for every image left out.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>In a folder: the files left alone because their extension is not an image's (hidden files not counted).</summary>
    public NotImageFiles NotImages { get; }

    readonly ClassFolderFiles? _folder;

    /// <summary>In a folder: the hidden folders left alone (see <see cref="HiddenEntries"/>), relative to
    /// <see cref="Root"/>, '/'-separated.</summary>
    public IReadOnlyList<string> HiddenFolders => _folder?.HiddenFolders ?? [];

    /// <summary>In a folder: the folders left alone because a run of train wrote them (see <see cref="ClassFolderFiles"/>).</summary>
    public IReadOnlyList<string> OutputFolders => _folder?.OutputFolders ?? [];

    /// <summary>In a folder: linked folders not followed because their target was read already (see
    /// <see cref="ClassFolderFiles"/>), relative to <see cref="Root"/>.</summary>
    public IReadOnlyList<string> RepeatedFolders => _folder?.RepeatedFolders ?? [];

    /// <summary>In a folder: folders that could not be listed, "path (why)", relative to <see cref="Root"/>.</summary>
    public IReadOnlyList<string> UnreadableFolders => _folder?.UnreadableFolders ?? [];

    /// <summary>Classes the folder or CSV names that hold no readable image, "class (why)": no model can learn them,
    /// so they are said (and fail the command with --strict) rather than silently missing from the model.</summary>
    public IReadOnlyList<string> LeftOutClasses { get; }

    /// <summary>The images (paths relative to <see cref="Root"/>) whose file asks to be turned before it is shown (EXIF
    /// orientation), from their headers: training and this tool's scoring turn them upright; ML.NET's LoadImages reads
    /// them as stored.</summary>
    public IReadOnlyList<string> Turned { get; }

    /// <summary>In a CSV: the rows that name their image without its extension, read as the one image file of that
    /// name (<see cref="CsvRows.ExtensionsAdded"/>), and the first of them.</summary>
    public (int Count, string? Example) ExtensionsAdded { get; private set; }

    /// <summary>Class names in ordinal order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Classes whose names differ only in Unicode normalisation (a Mac writes "Café" decomposed, NFD; most
    /// tools compose it, NFC) or only in case, each group described: on Linux they stay separate classes, which is
    /// rarely what was meant.</summary>
    public IReadOnlyList<string> LookAlikeClasses => Classes
        .GroupBy(c => c.Normalize(System.Text.NormalizationForm.FormC).ToUpperInvariant(), StringComparer.Ordinal)
        .Where(g => g.Count() > 1)
        .Select(g => $"{string.Join(" and ", g.Select(c => $"'{c}'"))} differ only " +
                     (g.Select(c => c.Normalize(System.Text.NormalizationForm.FormC)).Distinct(StringComparer.Ordinal).Count() < g.Count()
                         ? $"in Unicode normalisation ({string.Join(" vs ", g.Select(c => c.IsNormalized(System.Text.NormalizationForm.FormC) ? "NFC" : "NFD"))})"
                         : "by case"))
        .ToList();

    /// <summary>The rows at <paramref name="indices"/> (skipped images stay with the whole set).</summary>
    public LabelledImageSet Subset(IEnumerable<long> indices) =>
        new(Source, Root, indices.Select(i => Rows[(int)i]).ToList(), []);

    /// <summary>The rows whose class is one of <paramref name="classes"/>; the skipped images stay listed.</summary>
    public LabelledImageSet OfClasses(IEnumerable<string> classes)
    {
        var keep = classes.ToHashSet(StringComparer.Ordinal);
        return new(Source, Root, Rows.Where(r => keep.Contains(r.Label)).ToList(), Skipped.ToList(), NotImages, Turned, _folder, LeftOutClasses)
        {
            ExtensionsAdded = ExtensionsAdded,
        };
    }

    /// <summary>Lists the images at <paramref name="path"/> and reads their headers (images over
    /// <paramref name="maxPixels"/> are skipped); a CSV's columns are <paramref name="columns"/>' (default:
    /// <see cref="CsvColumns.Default"/>). Images without classes (a flat folder, a list without a class column) are
    /// refused as such, with <paramref name="withoutClasses"/>: what the command would take instead.</summary>
    public static LabelledImageSet Load(string path, bool strict, bool requireTwoClasses = true, long maxPixels = ImageDecoder.DefaultMaxPixels,
        CsvColumns? columns = null, string? withoutClasses = null)
    {
        columns ??= CsvColumns.Default;
        LabelledImageSet set;
        try
        {
            if (Directory.Exists(path)) set = FromFolder(Path.GetFullPath(path), maxPixels);
            else if (File.Exists(path)) set = FromCsv(Path.GetFullPath(path), maxPixels, columns);
            else throw new CliException(ExitCodes.DataNotFound, $"{path}: no such folder or CSV file.");
        }
        catch (CliException e) when (e.ExitCode != ExitCodes.DataNotFound && UnlabelledImages.Describe(path, columns) is { } what)
        {
            throw new CliException(e.ExitCode, $"{path}: {what}, where each image needs its class (one folder per class, or a class column): " +
                (withoutClasses ?? "predict scores images without classes, and check --test checks them for copies of training images and for images unlike them") + ".");
        }
        return Usable(set, path, strict, requireTwoClasses);
    }

    /// <summary>Rows listed elsewhere (a job's images.csv, a list of test images), paths relative to
    /// <paramref name="root"/>, checked like any other set; no two-class requirement. <paramref name="skipped"/>: rows
    /// the list already skipped, with why, reported with the rest.</summary>
    public static LabelledImageSet FromList(string source, string root, IEnumerable<(string Path, string Label)> rows, bool strict,
        long maxPixels = ImageDecoder.DefaultMaxPixels, IReadOnlyList<string>? skipped = null) =>
        Usable(Check(source, root, rows.Select(r => (Path.GetFullPath(Path.Combine(root, r.Path)), r.Label)).ToList(), maxPixels, skipped),
            $"{source} (images under {root})", strict, requireTwoClasses: false);

    /// <summary>The set, unless --strict meets an unreadable image or a class without one, no image is readable, or
    /// a classifier's two classes are missing.</summary>
    static LabelledImageSet Usable(LabelledImageSet set, string path, bool strict, bool requireTwoClasses)
    {
        if (strict && set.Skipped.Count > 0)
            throw new CliException(ExitCodes.UnreadableImages,
                $"{set.Skipped.Count} image(s) in {path} could not be read or were listed twice (--strict): {string.Join("; ", set.Skipped.Take(5))}");
        if (set.Rows.Count == 0)
            throw new CliException(ExitCodes.EmptyData, $"{path}: no readable images" + (set.Skipped.Count > 0 ? $" ({set.Skipped.Count} unreadable, e.g. {set.Skipped[0]})." : ".") +
                (set.NotImages.Description is { } others ? $" Left alone as not images by their extension: {others} (images are {string.Join(" ", ImageExtensions.Order(StringComparer.Ordinal))})." : "") +
                (set.NotImages.ConversionHint is { } hint ? $" {hint}." : "") + CsvHint(path));
        if (strict && set.LeftOutClasses.Count > 0)
            throw new CliException(ExitCodes.EmptyData, $"{path}: {DescribeLeftOut(set.LeftOutClasses)} (--strict).");
        if (requireTwoClasses && set.Classes.Count < 2)
            throw new CliException(ExitCodes.SingleClass, $"{path}: only one class ({set.Classes[0]}); a classifier needs at least two" +
                (set.LeftOutClasses.Count > 0 ? $"; {DescribeLeftOut(set.LeftOutClasses)}." : ".") +
                (set.NotImages.ConversionHint is { } hint ? $" {hint}." : "") + CsvHint(path));
        return set;
    }

    /// <summary>For a folder that did not read as classes but holds CSV files at its top (a labels file beside an
    /// images/ folder, as many data sets come): which to give instead; empty otherwise.</summary>
    static string CsvHint(string path)
    {
        if (!Directory.Exists(path)) return "";
        var csvs = Directory.EnumerateFiles(path, "*.csv").Select(f => Path.GetFileName(f)).Where(n => !HiddenEntries.IsHidden(n))
            .Order(StringComparer.Ordinal).ToList();
        return csvs.Count == 0 ? ""
            : $" It holds {string.Join(", ", csvs.Take(3))}{(csvs.Count > 3 ? $" and {csvs.Count - 3} more" : "")}: if one lists the images with " +
              $"filename,target columns, give it instead of the folder ({Path.Combine(path, csvs[0])}).";
    }

    /// <summary>"2 classes hold no readable image and are left out: Empty (an empty folder), ..." (the first 10).</summary>
    public static string DescribeLeftOut(IReadOnlyList<string> leftOut) =>
        $"{leftOut.Count} class{(leftOut.Count == 1 ? "" : "es")} hold{(leftOut.Count == 1 ? "s" : "")} no readable image and " +
        $"{(leftOut.Count == 1 ? "is" : "are")} left out: {string.Join(", ", leftOut.Take(10))}{(leftOut.Count > 10 ? $" and {leftOut.Count - 10} more" : "")}";

    static LabelledImageSet FromFolder(string folder, long maxPixels)
    {
        var walk = ClassFolderFiles.Read(folder, classFolders =>
        {
            if (classFolders.Count == 0)
                throw new CliException(ExitCodes.EmptyData, $"{folder}: no class sub-folders; expected one folder per class with images in it, or a CSV with filename,target." + CsvHint(folder));
            if (SplitFolders.Problem(folder, classFolders) is { } splits) throw new CliException(ExitCodes.EmptyData, splits);
        });
        var files = walk.Files;
        var candidates = files.Where(f => ImageExtensions.Contains(Path.GetExtension(f.Path))).ToList();
        return Check(folder, folder, candidates, maxPixels, notImages: NotImageFiles.Of(files.Select(f => f.Path)), folder: walk);
    }

    /// <summary>RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks) with a header naming the image
    /// and class columns (<see cref="CsvColumns"/>: their names and the separator), in any order, among others.</summary>
    static LabelledImageSet FromCsv(string csv, long maxPixels, CsvColumns columns)
    {
        var candidates = new List<(string Path, string Label)>();
        var listed = new Dictionary<string, (long Line, string Label)>(StringComparer.Ordinal);
        var repeated = new List<string>();
        var names = new List<string>(); // as listed
        using var rows = CsvRows.Open(csv, columns);
        int target = rows.Label!.Value;
        var root = rows.Root;
        while (rows.Next() is (long line, string[] cells))
        {
            var label = cells[target];
            if (rows.ImageName(line, cells, repeated) is not { } name) continue;
            if (label.Length == 0)
                throw new CliException(ExitCodes.UnreadableCsv, $"{csv}, line {line}: empty {rows.Header[target]} for {Quoted(name)}.");
            var path = rows.PathOf(name);
            if (listed.TryGetValue(path, out var first))
            {
                // one image, one class: a second row with another target is a labelling error; the same target
                // again would weigh the image twice and could put it on both sides of the held-out split
                if (first.Label != label)
                    throw new CliException(ExitCodes.UnreadableCsv,
                        $"{csv}, line {line}: {Quoted(name)} has the target '{Quoted(label)}' here and '{Quoted(first.Label)}' on line {first.Line}; an image has one class.");
                repeated.Add($"{Path.GetRelativePath(root, path)}: listed again on line {line} (line {first.Line} kept)");
                continue;
            }
            listed[path] = (line, label);
            candidates.Add((path, label));
            names.Add(name);
        }
        if (MissingImages.All([.. candidates.Select(c => c.Path)])) // "missing" for every row would not say why
            throw new CliException(ExitCodes.EmptyData, $"{csv}: {MissingImages.Describe(root, names)}.");
        var set = Check(csv, root, candidates, maxPixels, repeated);
        set.ExtensionsAdded = rows.ExtensionsAdded;
        return set;
    }

    /// <summary>At most the first 100 characters of a value a message quotes (a field of 53 MB went to the terminal
    /// whole), with its length when it is cut.</summary>
    internal static string Quoted(string value) => value.Length <= 100 ? value : $"{value[..100]}… ({value.Length} characters)";

    /// <summary>Reads every candidate's header, on every core; the order of the rows is the list's.</summary>
    static LabelledImageSet Check(string source, string root, List<(string Path, string Label)> candidates, long maxPixels,
        IReadOnlyList<string>? repeated = null, NotImageFiles? notImages = null, ClassFolderFiles? folder = null)
    {
        var inspected = new (string? Problem, bool Turned)[candidates.Count];
        Parallel.For(0, candidates.Count, i =>
        {
            var (header, problem) = ImageDecoder.ReadHeader(candidates[i].Path, maxPixels);
            inspected[i] = (problem, header?.Turned ?? false);
        });
        var rows = new List<LabelledImage>();
        var skipped = new List<string>(repeated ?? []);
        var turned = new List<string>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var (path, label) = candidates[i];
            var relative = Path.GetRelativePath(root, path);
            if (inspected[i].Problem is { } problem) skipped.Add($"{relative}: {problem}");
            else
            {
                rows.Add(new LabelledImage { ImagePath = relative, Label = label });
                if (inspected[i].Turned) turned.Add(relative);
            }
        }
        return new LabelledImageSet(source, root, rows, skipped, notImages, turned, folder, LeftOut(candidates, rows, folder?.FilesPerClass()));
    }

    /// <summary>The classes (a folder's class folders, or the targets a CSV lists) without a readable image, each with
    /// why: "Empty (an empty folder)", "Photos (none of its 12 files is an image)", "Cats (its 3 images could not be read)".</summary>
    static List<string> LeftOut(List<(string Path, string Label)> candidates, List<LabelledImage> rows, IReadOnlyDictionary<string, int>? filesPerClass)
    {
        var kept = rows.Select(r => r.Label).ToHashSet(StringComparer.Ordinal);
        var images = candidates.GroupBy(c => c.Label, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var named = filesPerClass?.Keys ?? images.Keys;
        return named.Where(c => !kept.Contains(c)).Order(StringComparer.Ordinal).Select(c =>
            images.GetValueOrDefault(c) is > 0 and var n ? $"{c} (its {n} image{(n == 1 ? "" : "s")} could not be read)"
            : filesPerClass!.GetValueOrDefault(c) is > 0 and var files ? $"{c} (none of its {files} file{(files == 1 ? "" : "s")} is an image)"
            : $"{c} (an empty folder)").ToList();
    }
}

using System.ComponentModel;
using Microsoft.ML;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`predict`: the top-k classes with their scores for an image, every image in a folder, or every image a CSV
/// lists (in the list's order, named as it names them).</summary>
public sealed class PredictCommand(IAnsiConsole console) : Command<PredictCommand.Settings>
{
    public sealed class Settings : CommandSettings, ICsvColumnSettings
    {
        [CommandOption("--model <PATH>")]
        public string Model { get; init; } = "out/" + TrainCommand.ModelFile;

        [CommandArgument(0, "<IMAGE|FOLDER|CSV>")]
        [Description("An image file, a folder whose images (recursively) are all scored, a CSV (.csv, .tsv, .txt) whose rows list images (a filename or ImagePath column, paths relative to the CSV; any other columns left alone; or, without a header, one path per line), scored in its order and named as it names them, or - for what standard input holds: one image, or a list of images as text (as find prints them, or a CSV as above; paths relative to the current folder).")]
        public string Input { get; init; } = "";

        [CommandOption("--image-column <NAME>")]
        [Description("The column of the CSV given to score that holds the image paths. Default: filename, else ImagePath (any case).")]
        public string? ImageColumn { get; init; }

        [CommandOption("--image-root <FOLDER>")]
        [Description("The folder the image paths of the CSV given to score start from, where that is not the CSV's own folder (the current folder for a list on standard input).")]
        public string? ImageRoot { get; init; }

        /// <summary>A list to score needs no class column.</summary>
        string? ICsvColumnSettings.LabelColumn => null;

        [CommandOption("--top <K>")]
        public int Top { get; init; } = 3;

        [CommandOption("--csv <FILE>")]
        [Description("Also write every image's scores for every class to this CSV: path, predicted class, sure (with --min-score: answered, as the web API's sure), unfamiliar (true for an image unlike every training image, from a model that says), one column per class (the skipped images, with why, to <name>.skipped.txt beside it); the screen then shows the first 20. - writes the CSV to standard output, and the table, the skipped images and the messages to standard error.")]
        public string? Csv { get; init; }

        [CommandOption("--min-score <P>")]
        [Description(MinScoreOption.Help + "an image whose top score is lower is answered 'unsure' (the table's answer column; --csv's sure column says false); an image the model calls unfamiliar is answered 'unfamiliar', whatever its score (sure false too). evaluate --min-score counts the same images as answered.")]
        public double? MinScore { get; init; }

        [CommandOption("--heatmaps <FOLDER>")]
        [Description("Also write, for each image scored, the image with where the network looks for its predicted class laid over it (Grad-CAM, red where the evidence is strongest) to <FOLDER>/<image's path under the input>.heatmap.jpg.")]
        public string? Heatmaps { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description(ModelLoading.DeviceHelp)]
        public string Device { get; init; } = "cpu";

        [CommandOption("--max-image-pixels <N>")]
        [Description("The most pixels an image may hold (from its header, before decoding); larger ones are skipped as unreadable. Default: 178956970.")]
        public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

        [CommandOption("--verbose")]
        [Description("Also print libtorch's own C++ warnings (off by default; TORCH_CPP_LOG_LEVEL=WARNING does the same).")]
        public bool Verbose { get; init; }
    }

    /// <summary>With --csv, which holds every image, the screen shows this many scored and this many skipped.</summary>
    const int ShownWithCsv = 20;

    /// <summary>Where --csv's skipped images are listed: scores.csv → scores.skipped.txt, beside it.</summary>
    public static string SkippedFile(string csv) => Path.ChangeExtension(Path.GetFullPath(csv), ".skipped.txt");

    /// <summary>The extensions of a file predict reads as a list of images rather than as an image.</summary>
    static readonly IReadOnlySet<string> ListExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".csv", ".tsv", ".txt" };

    /// <summary>What <see cref="CliRunner"/> passes for a lone "-" argument: what to score is on standard input.</summary>
    public const string StandardInput = "<standard input>";

    /// <summary>Standard input as messages name it (the table and the CSV name an image piped in "-").</summary>
    const string StandardInputShown = "standard input";

    /// <summary>Standard input copied to this process's work folder, and what it holds (<see cref="StandardInputCopy"/>).</summary>
    static (string Path, StandardInputCopy.Kind Kind) ReadStandardInput(long maxPixels)
    {
        const string Pipe = "pipe one in (predict --model out/model.zip - < photo.jpg), or a list of images (find photos -name '*.jpg' | predict --model out/model.zip -)";
        if (!Console.IsInputRedirected)
            throw new CliException(ExitCodes.DataNotFound, $"-: the image is read from standard input, which is a terminal here; {Pipe}.");
        var path = WorkFolder.File("standard-input");
        StandardInputCopy.Kind kind;
        using (var input = Console.OpenStandardInput())
            kind = StandardInputCopy.Copy(input, path, maxPixels);
        if (new FileInfo(path).Length == 0) throw new CliException(ExitCodes.EmptyData, $"-: standard input was empty; {Pipe}.");
        return (path, kind);
    }

    /// <summary>The list of images standard input held (copied to <paramref name="copy"/>), its paths relative to the
    /// current folder; a list that cannot be read says why text was read as one.</summary>
    static ListedImages PipedList(string copy, CsvColumns columns)
    {
        try
        {
            return ListedImages.FromCsv(copy, columns, StandardInputShown, Directory.GetCurrentDirectory());
        }
        catch (CliException e)
        {
            throw new CliException(e.ExitCode, $"-: standard input is text, so it was read as a list of images (one path per line, or a CSV with a filename column): {e.Message}");
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (settings.Verbose) Runtime.LibTorchLogLevel.ShowWarnings();
            var device = ModelLoading.CheckDevice(settings.Device);
            if (settings.Top < 1) throw new CliException(ExitCodes.BadOption, $"--top: must be at least 1, not {settings.Top}.");
            bool fromStandardInput = settings.Input == StandardInput;
            var inputShown = fromStandardInput ? StandardInputShown : settings.Input; // what messages call the input
            bool fromList = File.Exists(settings.Input) && ListExtensions.Contains(Path.GetExtension(settings.Input));
            CsvColumnOptions.CheckRoot(settings.ImageRoot);
            var listOption = settings.ImageColumn != null ? "--image-column names a column of" : settings.ImageRoot != null ? "--image-root is where the image paths start in" : null;
            if (listOption != null && !fromList && !fromStandardInput)
                throw new CliException(ExitCodes.BadOption, $"{listOption} a CSV that lists images, and {settings.Input} is not one (a .csv, .tsv or .txt file); leave it out.");
            if (File.Exists(settings.Input) && NotACsv.Archive(settings.Input) is { } archive)
                throw new CliException(ExitCodes.EmptyData, $"{settings.Input}: {archive.Kind}, not an image: unpack it ({archive.Unpack}) and give predict the folder of images it holds.");
            if (settings.MaxImagePixels < 1) throw new CliException(ExitCodes.BadOption, $"--max-image-pixels: must be at least 1, not {settings.MaxImagePixels}.");
            if (settings.MinScore is { } asked) MinScoreOption.Check(asked);
            bool csvOut = settings.Csv == "-"; // the CSV alone on standard output, for a pipe; people read standard error
            var human = LogConsole.ForPeople(console, csvOut);
            var piped = fromStandardInput ? ReadStandardInput(settings.MaxImagePixels) : ((string Path, StandardInputCopy.Kind Kind)?)null;
            bool oneFromStandardInput = piped?.Kind == StandardInputCopy.Kind.Image; // named "-"; a list's images are named as it names them
            if (listOption != null && oneFromStandardInput)
                throw new CliException(ExitCodes.BadOption, $"{listOption} a list of images, and standard input held an image; leave it out.");
            var columns = settings.Columns();
            var list = fromList ? ListedImages.FromCsv(settings.Input, columns)
                : piped is { Kind: StandardInputCopy.Kind.List } pipedList ? PipedList(pipedList.Path, columns)
                : null;
            bool fromFolder = !fromStandardInput && list == null && !File.Exists(settings.Input) && Directory.Exists(settings.Input);
            var inFolder = fromFolder ? ClassFolderFiles.FilesUnder(settings.Input).ToList() : []; // hidden entries and loops left alone
            var files = oneFromStandardInput ? [piped!.Value.Path]
                : list != null ? list.Images.Select(i => i.Path).ToArray()
                : File.Exists(settings.Input) ? [Path.GetFullPath(settings.Input)]
                : fromFolder ? inFolder.Where(f => LabelledImageSet.ImageExtensions.Contains(Path.GetExtension(f)))
                    .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToArray()
                : throw new CliException(ExitCodes.DataNotFound, $"{settings.Input}: no such image or folder.");
            if (list != null && files.Length == 0)
                throw new CliException(ExitCodes.UnreadableImages, $"{inputShown}: no row names a file that can exist: {string.Join("; ", list.Skipped.Take(3))}.");
            if (list != null && MissingImages.All(files))
                throw new CliException(ExitCodes.UnreadableImages, $"{inputShown}: {MissingImages.Describe(list.Root, [.. list.Images.Select(i => i.Listed)])}.");
            var notImages = NotImageFiles.Of(inFolder);
            if (files.Length == 0) throw new CliException(ExitCodes.EmptyData, $"{settings.Input}: no images (images are " +
                $"{string.Join(" ", LabelledImageSet.ImageExtensions.Order(StringComparer.Ordinal))})." +
                (notImages.ConversionHint is { } hint ? $" {hint}." : ""));
            if (settings.Csv != null && !csvOut) FolderOption.WritableFile(settings.Csv, "--csv", ("--model", settings.Model), ("predict", settings.Input));
            if (settings.Heatmaps is { } under && Directory.Exists(settings.Input) && FolderOption.PathUnder(under, settings.Input) != null)
                throw new CliException(ExitCodes.BadOption, $"--heatmaps {under}: inside the folder predict scores ({settings.Input}); the next predict on it would score the heatmaps too. Write them elsewhere.");
            var heatmaps = settings.Heatmaps is { } folder ? FolderOption.Writable(folder, "--heatmaps") : null;
            WorkFolder.CleanStale(human, settings.Csv is { } csv && !csvOut ? [Path.GetDirectoryName(Path.GetFullPath(csv))!] : []);
            SkippedImages.ReportNotImages(human, settings.Input, notImages); // a folder's HEIC photos are named, not passed over in silence
            if (list != null) SkippedImages.ReportExtensionsAdded(human, inputShown, list.ExtensionsAdded);
            var mlContext = WorkFolder.NewContext(seed: 1);
            var (model, info) = ModelLoading.Load(mlContext, settings.Model, device, human);
            if (!fromStandardInput && Labelled(settings.Input, list, info.ClassNames) is { } labelled) // scored here; measured by evaluate
                human.WriteLine($"{settings.Input} {labelled}; their accuracy: evaluate --model {settings.Model} --data {settings.Input}" +
                    (settings.ImageColumn is { } column ? $" --image-column {column}" : ""));
            IReadOnlyList<ImageFileScorer.Result> results;
            bool flags;
            try
            {
                // each file decoded once, as training read it, on every core; a truncated one is named, not scored
                // with black rows as LoadImages would
                var scorer = new ImageFileScorer(mlContext, model, info.Preprocessing.InputSize, settings.MaxImagePixels);
                flags = scorer.Flags;
                results = scorer.Score(files, progress: new PhaseProgress("images scored", human.WriteLine));
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }
            var table = new Table().AddColumn("image");
            if (settings.MinScore != null) table.AddColumn("answer");
            else if (flags) table.AddColumn("familiar");
            for (int k = 1; k <= Math.Min(settings.Top, info.ClassNames.Count); k++) table.AddColumn($"#{k}");
            var skipped = new List<string>(list?.Skipped ?? []);
            var rows = settings.Csv == null ? null : new List<string>();
            int shown = 0, unsure = 0, unfamiliar = 0;
            for (int i = 0; i < files.Length; i++)
            {
                // a list's images are named as it names them (its rows join the scores); a folder's in full in the CSV
                var (file, result, listed) = (files[i], results[i], list?.Images[i].Listed);
                if (result.Scores is not { } scores)
                {
                    skipped.Add($"{(oneFromStandardInput ? "the image on standard input" : listed ?? file)}: {result.Problem ?? "not a readable image"}");
                    continue;
                }
                var predicted = info.ClassNames[Array.IndexOf(scores, scores.Max())];
                // an unfamiliar image is not answered, however sure its score: evaluate's, the report's and the web API's rule
                bool? sure = settings.MinScore is { } minScore ? Reporting.SureAnswers.IsAnswered(scores, result.Unfamiliar, minScore) : null;
                if (result.Unfamiliar == true) unfamiliar++;
                else if (sure == false) unsure++;
                rows?.Add(string.Join(",", [CsvText.Field(oneFromStandardInput ? "-" : listed ?? file), CsvText.Field(predicted), .. sure is { } s ? [s ? "true" : "false"] : (string[])[],
                    .. result.Unfamiliar is { } u ? [u ? "true" : "false"] : (string[])[],
                    .. scores.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))]));
                if (rows != null && ++shown > ShownWithCsv) continue; // the CSV has them all
                var top = scores.Select((s, i) => (Score: s, Class: info.ClassNames[i])).OrderByDescending(p => p.Score).Take(settings.Top);
                string[] answer = sure is { } answered
                    ? [result.Unfamiliar == true ? "[red]unfamiliar[/]" : answered ? Markup.Escape(predicted) : "[yellow]unsure[/]"]
                    : result.Unfamiliar is { } flagged ? [flagged ? "[red]no[/]" : "yes"] : [];
                table.AddRow([Markup.Escape(oneFromStandardInput ? "-" : listed ?? Path.GetRelativePath(Directory.GetCurrentDirectory(), file)),
                    .. answer, .. top.Select(p => Markup.Escape($"{p.Class} {p.Score:P1}"))]);
            }
            var skippedFile = settings.Csv is { } csvPath && !csvOut ? SkippedFile(csvPath) : null; // on standard error, all of them
            foreach (var line in skippedFile == null ? skipped : skipped.Take(ShownWithCsv)) human.MarkupLine($"[yellow]skipped[/] {Markup.Escape(line)}");
            if (skippedFile != null && skipped.Count > ShownWithCsv)
                human.MarkupLine(Markup.Escape($"... and {skipped.Count - ShownWithCsv} more skipped (all {skipped.Count} listed in {skippedFile})"));
            int scored = results.Count(r => r.Scores != null);
            if (scored == 0) // nothing to show or write: no empty table, no CSV of a header alone
                throw new CliException(ExitCodes.UnreadableImages, $"{inputShown}: no image could be read ({skipped.Count} skipped, named above).");
            human.Write(table);
            if (rows?.Count > ShownWithCsv) human.WriteLine($"... and {rows.Count - ShownWithCsv} more images (their scores are {(csvOut ? "on standard output" : $"in {settings.Csv}")})");
            if (settings.MinScore is { } threshold)
                human.WriteLine($"at Score ≥ {threshold:0.###}: {scored - unsure - unfamiliar} of {scored} image(s) answered, {unsure} unsure" +
                    (flags ? $", {unfamiliar} unfamiliar" : ""));
            else if (flags)
                human.WriteLine($"{unfamiliar} of {scored} image(s) unfamiliar: unlike every image the model was trained on, whatever their scores say");
            if (rows != null)
            {
                string[] named = ["path", "predicted", .. settings.MinScore != null ? ["sure"] : (string[])[], .. flags ? ["unfamiliar"] : (string[])[]];
                string[] header = [.. named, .. ScoreColumns(info.ClassNames, named).Select(CsvText.Field)];
                var text = string.Join("\n", [string.Join(",", header), .. rows]) + "\n";
                if (csvOut)
                {
                    console.Profile.Out.Writer.Write(text);
                    console.Profile.Out.Writer.Flush();
                    human.WriteLine($"scores of {rows.Count} image(s) written to standard output");
                }
                else
                {
                    AtomicFile.Write(settings.Csv!, System.Text.Encoding.UTF8.GetBytes(text));
                    if (skipped.Count > 0) AtomicFile.Write(skippedFile!, System.Text.Encoding.UTF8.GetBytes(string.Join("\n", skipped) + "\n"));
                    else if (File.Exists(skippedFile)) File.Delete(skippedFile); // an earlier run's
                    human.MarkupLine(Markup.Escape($"scores of {rows.Count} image(s) written to {settings.Csv}" + (skipped.Count > 0 ? $"; the {skipped.Count} skipped, with why, to {skippedFile}" : "")));
                }
            }
            if (heatmaps != null)
            {
                var read = files.Zip(results).Where(r => r.Second.Scores != null).ToList();
                int written = Reporting.PredictionHeatmaps.Write(settings.Model, read.Select(r => r.First).ToList(),
                    read.Select(r => Array.IndexOf(r.Second.Scores!, r.Second.Scores!.Max())).ToList(),
                    oneFromStandardInput ? null : list?.Root // the folder a list's paths start from
                    ?? (Directory.Exists(settings.Input) ? Path.GetFullPath(settings.Input) : Path.GetDirectoryName(Path.GetFullPath(settings.Input))!),
                    heatmaps, settings.MaxImagePixels, human);
                human.MarkupLine(Markup.Escape($"where the network looks for each predicted class: {written} heatmap(s) written to {heatmaps}"));
            }
            return ExitCodes.Success;
        });

    /// <summary>How the input gives its images' classes, where it does — a list's class column, or folders named as
    /// classes of the model — for the evaluate command that measures them; null otherwise.</summary>
    static string? Labelled(string input, ListedImages? list, IReadOnlyList<string> classes)
    {
        if (list?.LabelColumn is { } column) return $"also gives classes ('{column}')";
        if (!Directory.Exists(input)) return null;
        var folders = Directory.EnumerateDirectories(input).Select(Path.GetFileName).OfType<string>().Where(classes.Contains).Order(StringComparer.Ordinal).ToList();
        return folders.Count == 0 ? null : $"holds folders named as the model's classes ({string.Join(", ", folders.Take(3))}{(folders.Count > 3 ? ", …" : "")})";
    }

    /// <summary>The CSV's score column of each class: its name, unless another column has it (a class named "path" or
    /// "unfamiliar"), then <c>score:</c> and its name, so that every column of the file has its own name.</summary>
    internal static List<string> ScoreColumns(IReadOnlyList<string> classes, IReadOnlyCollection<string> otherColumns)
    {
        var taken = new HashSet<string>([.. otherColumns, .. classes], StringComparer.Ordinal);
        return [.. classes.Select(name =>
        {
            if (!otherColumns.Contains(name, StringComparer.Ordinal)) return name;
            var column = $"score:{name}";
            while (!taken.Add(column)) column = $"score:{column}";
            return column;
        })];
    }
}

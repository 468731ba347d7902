using System.Globalization;
using System.Reflection;
using System.Text;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>
/// The run as C#, as Model Builder writes a model's training code: Train.cs, a .NET 10 file-based app that fits the
/// same ML.NET pipeline `train` fitted (MapValueToKey → LoadImages → TransferTrain → MapKeyToValue) with the options
/// the run was given, on the images it trained on — training-images.csv, in the order trained — then evaluates on
/// test-images.csv and saves the zip. Same seed, images and machine: the same model. `--data`/`--test` retrain on
/// other images (a folder per class or a CSV whose columns and separator are found as the CLI finds them). Where Auto chose, the choice is
/// written beside the options with the lines that would pin it. The lists hold paths relative to the output folder,
/// so `train --data out/training-images.csv --test out/test-images.csv` reads them too.
/// </summary>
public static class TrainingCode
{
    public const string File = "Train.cs";
    public const string TrainingImages = "training-images.csv";
    public const string TestImages = "test-images.csv";

    /// <summary>Writes Train.cs and the two image lists into <paramref name="folder"/>, each whole or not at all.</summary>
    public static IReadOnlyList<string> Write(string folder, TransferTrainOptions options, int? gpuDeviceId, RunRecord run,
        LabelledImageSet train, LabelledImageSet test) =>
    [
        AtomicFile.Write(Path.Combine(folder, TrainingImages), Encoding.UTF8.GetBytes(List(folder, train))),
        AtomicFile.Write(Path.Combine(folder, TestImages), Encoding.UTF8.GetBytes(List(folder, test))),
        AtomicFile.Write(Path.Combine(folder, File), Encoding.UTF8.GetBytes(Render(options, gpuDeviceId, run))),
    ];

    static string List(string folder, LabelledImageSet set)
    {
        var text = new StringBuilder("filename,target\n");
        foreach (var row in set.Rows)
            text.Append(CsvText.Field(Listed(folder, Path.GetFullPath(Path.Combine(set.Root, row.ImagePath))))).Append(',').Append(CsvText.Field(row.Label)).Append('\n');
        return text.ToString();
    }

    /// <summary>A file as a list names it: relative to the list's folder where the two share a folder below the file
    /// system's root (out/ beside data/: ../data/cat/1.jpg), else the full path (/tmp/out and /srv/photos share only /).</summary>
    internal static string Listed(string folder, string file)
    {
        var relative = Path.GetRelativePath(folder, file);
        if (Path.IsPathRooted(relative)) return file; // another drive
        var climbs = relative.Split(Path.DirectorySeparatorChar).TakeWhile(part => part == "..").Count();
        var folderDepth = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Length;
        return climbs >= folderDepth ? file : relative;
    }

    /// <summary>The recipe's options of <paramref name="options"/> that a run can be given (<see cref="FineTuneOptions"/>'
    /// own, and how image files are read), as C# initializers: those that differ from the defaults, and the
    /// architecture, strategy and seed always.</summary>
    internal static IEnumerable<string> OptionLines(TransferTrainOptions options)
    {
        var defaults = new TransferTrainOptions();
        var always = new[] { nameof(FineTuneOptions.Architecture), nameof(FineTuneOptions.Strategy), nameof(FineTuneOptions.Seed) };
        var properties = typeof(FineTuneOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Concat([typeof(TransferTrainOptions).GetProperty(nameof(TransferTrainOptions.MaxImagePixels))!,
                     typeof(TransferTrainOptions).GetProperty(nameof(TransferTrainOptions.FailOnUnreadableImages))!])
            .Where(p => p.CanWrite);
        foreach (var property in properties)
        {
            var value = property.GetValue(options);
            if (!always.Contains(property.Name) && Equals(value, property.GetValue(defaults))) continue;
            if (property.Name == nameof(FineTuneOptions.Weights) && value is string weights && System.IO.File.Exists(weights))
                value = Path.GetFullPath(weights); // Train.cs may run from another folder
            yield return $"{property.Name} = {Literal(value)},";
        }
    }

    /// <summary>A value as a C# literal: text quoted, enums by their type's name, numbers in the invariant culture.</summary>
    internal static string Literal(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r") + "\"",
        bool b => b ? "true" : "false",
        Enum e => $"{e.GetType().Name}.{e}",
        TimeSpan t when t.TotalMinutes == Math.Floor(t.TotalMinutes) => $"TimeSpan.FromMinutes({t.TotalMinutes.ToString(CultureInfo.InvariantCulture)})",
        TimeSpan t => $"TimeSpan.FromSeconds({t.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)})",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"no C# literal for a {value.GetType().Name}", nameof(value)),
    };

    /// <summary>What Auto chose, with the lines that would train that whatever the images say; nothing for a named
    /// strategy.</summary>
    static string AutoChoice(RunRecord run)
    {
        if (run.Auto is not { } auto) return "";
        var pinned = $"Strategy = FineTuneStrategy.{run.Strategy}, ImageSize = {run.ImageSize}" +
                     (run.Strategy == Engine.Strategies.FineTuneStrategy.HeadOnly ? "" : $", Epochs = {auto.Epochs}");
        var lines = Wrap($"Auto chose {run.StrategyReason}", 112).Select(l => "// " + l);
        return string.Join("\n", lines) + $"\n// To train that again whatever the images say, set in the options above:\n//     {pinned},\n";
    }

    static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.ReplaceLineEndings(" ").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            line.Append(line.Length > 0 ? " " : "").Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }

    public static string Render(TransferTrainOptions options, int? gpuDeviceId, RunRecord run)
    {
        var version = Runtime.RuntimeReport.ProductVersion;
        var optionLines = string.Join("\n", OptionLines(options).Select(l => "    " + l));
        var context = gpuDeviceId is { } gpu ? $" {{ GpuDeviceId = {gpu}, FallbackToCpu = false }}" : "";
        return $$"""
            // Generated by mlnet-transfer {{version}}: this run's training as C#, with the MlNetTransfer.Estimators API.
            // Run: dotnet run Train.cs
            //        trains on the images this run trained on (training-images.csv, in that order) and tests on
            //        test-images.csv: with the same seed, images and machine, the model this run saved
            //      dotnet run Train.cs -- --data <folder|csv> [--test <folder|csv>] [--out <model.zip>] [--image-column <name>] [--label-column <name>]
            //        other images: one sub-folder per class, or a CSV as mlnet-transfer reads it: filename or ImagePath, target or
            //        Label (or the columns named), separated by commas, tabs or semicolons
            // It saves retrained-model.zip next to this file (or --out), written whole or not at all; model.zip stays.
            // The package comes from where the tool came from: nuget.org, or a packed folder named in a nuget.config.
            // On an NVIDIA GPU, libtorch for CUDA in place of the CPU's: the two lines below without their "// "
            // (docs/gpu-and-libtorch.md in the project's repository).
            // #:property MlNetTransferTorchFlavour=cuda
            // #:package libtorch-cuda-12.8-linux-x64@2.10.0
            #:package MlNetTransfer.Estimators@{{version}}
            #:property PublishAot=false
            using Microsoft.ML;
            using Microsoft.VisualBasic.FileIO;
            using MlNetTransfer.Engine.Devices;
            using MlNetTransfer.Engine.Strategies;
            using MlNetTransfer.Engine.Training;
            using MlNetTransfer.MlNet;

            var here = AppContext.GetData("EntryPointFileDirectoryPath") as string ?? Environment.CurrentDirectory;
            string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            var data = Arg("--data");
            var (imageColumn, labelColumn) = (Arg("--image-column"), Arg("--label-column"));
            var (root, trainRows) = ImageList.Read(data ?? Path.Combine(here, "{{TrainingImages}}"), imageColumn, labelColumn);
            var test = Arg("--test") ?? (data == null ? Path.Combine(here, "{{TestImages}}") : null);
            var testRows = test == null ? null : ImageList.Absolute(ImageList.Read(test, imageColumn, labelColumn)); // the model's LoadImages reads from root
            var modelPath = Path.GetFullPath(Arg("--out") ?? Path.Combine(here, "retrained-model.zip"));

            var mlContext = new MLContext(seed: {{options.Seed}}){{context}};
            var train = mlContext.Data.LoadFromEnumerable(trainRows);
            var loadImages = mlContext.Transforms.LoadImages("Image", root, "ImagePath");
            var options = new TransferTrainOptions
            {
                // as `mlnet-transfer train` was given them (the rest are the defaults)
            {{optionLines}}
                // TransferTrain decodes the files itself: once, at the size training needs, upright; unreadable ones are skipped and named
                ImagePathColumnName = "ImagePath", ImageFolder = root,
                Log = Console.WriteLine,
            };
            {{AutoChoice(run)}}if (testRows != null && options.CheckData)
            {
                // the test images, for the data checks' search for test images copied into the training data (never trained on)
                var keys = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(train);
                options.TestSet = loadImages.Fit(train).Transform(keys.Transform(mlContext.Data.LoadFromEnumerable(testRows)));
            }

            var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(loadImages)
                .Append(mlContext.TransferTrain(options))
                .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
            var model = pipeline.Fit(train);
            var step = model.OfType<TransferTrainTransformer>().Single();
            Console.WriteLine($"trained: {step.Strategy} at {step.ImageSize} px on {trainRows.Length} images");

            if (testRows != null)
            {
                // each file decoded as training read it (once, at the size the network needs, upright, on every core), then the
                // model's steps after its LoadImages; Evaluate(model.Transform(...)) would decode at full size and as stored
                var classes = step.ClassNames.Select((name, i) => (name, i)).ToDictionary(c => c.name, c => c.i);
                var results = new ImageFileScorer(mlContext, model, step.ImageSize).Score(testRows.Select(r => r.ImagePath).ToList());
                var scored = testRows.Zip(results).Where(p => p.Second.Scores != null && classes.ContainsKey(p.First.Label))
                    .Select(p => (Truth: classes[p.First.Label], Scores: p.Second.Scores!)).ToList();
                double accuracy = scored.Average(s => Array.IndexOf(s.Scores, s.Scores.Max()) == s.Truth ? 1.0 : 0.0);
                double logLoss = scored.Average(s => -Math.Log(Math.Max(s.Scores[s.Truth], 1e-15)));
                Console.WriteLine($"test: accuracy {accuracy:P1}, log-loss {logLoss:0.000} on {scored.Count} images" +
                    (scored.Count < testRows.Length ? $" ({testRows.Length - scored.Count} unreadable or of classes not trained on)" : ""));
            }

            var partial = modelPath + ".partial";
            mlContext.Model.Save(model, train.Schema, partial);
            File.Move(partial, modelPath, overwrite: true);
            Console.WriteLine($"saved {modelPath}");

            static class ImageList
            {
                static readonly HashSet<string> Extensions = [".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".bmp", ".gif", ".webp"];

                /// <summary>A folder with one sub-folder per class, or a CSV with image and class columns (file names
                /// relative to the CSV's folder): the folder the paths are relative to, and the rows.</summary>
                public static (string Root, ImageRow[] Rows) Read(string path, string? imageColumn, string? labelColumn)
                {
                    path = Path.GetFullPath(path);
                    if (Directory.Exists(path))
                        return (path, Directory.GetDirectories(path).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal)
                            .SelectMany(folder => Directory.GetFiles(folder, "*", System.IO.SearchOption.AllDirectories)
                                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal)
                                .Select(f => new ImageRow { ImagePath = Path.GetRelativePath(path, f), Label = Path.GetFileName(folder) }))
                            .ToArray());
                    string[] images = imageColumn != null ? [imageColumn] : ["filename", "ImagePath"], labels = labelColumn != null ? [labelColumn] : ["target", "Label"];
                    foreach (var separator in new[] { ",", "\t", ";" }) // the first by which the header holds both columns
                    {
                        using var csv = new TextFieldParser(path) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = true };
                        csv.SetDelimiters(separator);
                        var header = csv.ReadFields() ?? [];
                        int file = Column(header, images), target = Column(header, labels);
                        if (file < 0 || target < 0 || file == target) continue;
                        var rows = new List<ImageRow>();
                        while (csv.ReadFields() is { } fields)
                            if (fields.Length == header.Length && fields[file].Length > 0)
                                rows.Add(new ImageRow { ImagePath = fields[file].Replace('\\', Path.DirectorySeparatorChar), Label = fields[target] });
                        return (Path.GetDirectoryName(path)!, rows.ToArray());
                    }
                    throw new InvalidDataException($"{path}: the header has no image column ({string.Join(" or ", images)}) or no class column " +
                        $"({string.Join(" or ", labels)}); name them: --image-column <name> --label-column <name>.");
                }

                static int Column(string[] header, string[] names) =>
                    names.Select(name => Array.FindIndex(header, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(i => i >= 0, -1);

                public static ImageRow[] Absolute((string Root, ImageRow[] Rows) list) =>
                    list.Rows.Select(r => new ImageRow { ImagePath = Path.GetFullPath(Path.Combine(list.Root, r.ImagePath)), Label = r.Label }).ToArray();
            }

            public class ImageRow
            {
                public string ImagePath { get; set; } = "";
                public string Label { get; set; } = "";
            }

            """;
    }
}

using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.VisualBasic.FileIO;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Jobs;

/// <summary>The files of a job folder, written by <c>job export</c> and read back by <c>job import</c>.</summary>
public static class JobFiles
{
    public const string Images = "images.csv";
    public const string StartWeights = "start.safetensors";
    public const string MeanImage = "mean_image.safetensors";
    public const string Script = "train_ddp.py";
    public const string ScriptParts = "recipe_parts.py";
    public const string Readme = "README.md";
    public const string Trained = "trained.safetensors";
    public const string History = "history.json";
    public const string Check = "check.safetensors";
    /// <summary>Written by the script after every epoch but the last, removed when the run finishes.</summary>
    public const string Checkpoint = "checkpoint.pt";

    /// <summary>Writes recipe.json, images.csv, the starting weights (and mean image), train_ddp.py with recipe_parts.py
    /// and README.md;
    /// each file whole or not at all. A trained result of an earlier job in the folder is removed: it belongs to
    /// other starting weights.</summary>
    public static void Write(string folder, JobRecipe recipe, IReadOnlyDictionary<string, Tensor> startWeights, Preprocessing preprocessing,
        IReadOnlyList<JobImage> images)
    {
        Directory.CreateDirectory(folder);
        // recipe.json goes first and comes back last: an export that fails half way leaves a folder that is not a job,
        // never an old recipe beside new weights
        foreach (var stale in new[] { JobRecipe.FileName, Trained, History, Check, Checkpoint, MeanImage })
            if (File.Exists(Path.Combine(folder, stale))) File.Delete(Path.Combine(folder, stale));
        SafetensorsWriter.Write(Path.Combine(folder, StartWeights), startWeights);
        if (preprocessing.MeanImage is { } mean)
        {
            using var meanImage = tensor(mean, [1, 3, preprocessing.MeanImageSize, preprocessing.MeanImageSize]);
            SafetensorsWriter.Write(Path.Combine(folder, MeanImage), new Dictionary<string, Tensor> { ["mean_image"] = meanImage });
        }
        var csv = new StringBuilder("path,label,split\n");
        foreach (var image in images) csv.Append(CsvText.Field(image.Path)).Append(',').Append(CsvText.Field(image.Label)).Append(',').Append(image.Split).Append('\n');
        AtomicFile.Write(Path.Combine(folder, Images), Encoding.UTF8.GetBytes(csv.ToString()));
        AtomicFile.Write(Path.Combine(folder, Script), Resource(Script));
        AtomicFile.Write(Path.Combine(folder, ScriptParts), Resource(ScriptParts));
        AtomicFile.Write(Path.Combine(folder, Readme), Resource("JobReadme.md"));
        AtomicFile.Write(Path.Combine(folder, JobRecipe.FileName), JsonSerializer.SerializeToUtf8Bytes(recipe, JobRecipe.Json));
    }

    /// <summary>recipe.json of a job folder; a clear error when the folder is not a job or of another format.</summary>
    public static JobRecipe ReadRecipe(string folder)
    {
        var path = Path.Combine(folder, JobRecipe.FileName);
        if (File.Exists(folder)) throw new JobFileException($"{folder} is a file, not a job folder (give the folder `job export` wrote).");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Job folder {folder} does not exist.");
        if (!File.Exists(path)) throw new JobFileException($"{folder} is not a job folder: no {JobRecipe.FileName} (write one with `job export`).");
        JobRecipe? recipe;
        try
        {
            recipe = JsonSerializer.Deserialize<JobRecipe>(File.ReadAllBytes(path), JobRecipe.Json);
        }
        catch (JsonException e)
        {
            throw new JobFileException($"{path}: not a job recipe ({e.Message})");
        }
        if (recipe == null) throw new JobFileException($"{path}: empty");
        if (recipe.Format != JobRecipe.CurrentFormat)
            throw new JobFileException($"{path}: job format {recipe.Format}; this version reads format {JobRecipe.CurrentFormat} (export the job again)");
        recipe.Check(path);
        return recipe;
    }

    /// <summary>The rows of images.csv (RFC 4180 quoting), read with the CSV parser the CLI's data sets use.</summary>
    public static IReadOnlyList<JobImage> ReadImages(string folder)
    {
        var path = Path.Combine(folder, Images);
        if (!File.Exists(path)) throw new JobFileException($"{path} is missing: the job's image list.");
        using var parser = new TextFieldParser(path) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true };
        parser.SetDelimiters(",");
        try
        {
            if (parser.ReadFields() is not ["path", "label", "split"]) throw new JobFileException($"{path}: expected the header path,label,split");
            var rows = new List<JobImage>();
            while (parser.ReadFields() is { } fields)
                rows.Add(fields is [var file, var label, var split] ? new JobImage(file, label, split)
                    : throw new JobFileException($"{path}, row {rows.Count + 2}: expected 3 fields, found {fields.Length}"));
            return rows;
        }
        catch (MalformedLineException e)
        {
            throw new JobFileException($"{path}, line {e.LineNumber}: not valid CSV");
        }
    }

    static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"MlNetTransfer.Jobs.{name}")
                           ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

using System.Text.Json.Nodes;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>The ASP.NET Core app `train --web-api` writes next to the model (Model Builder's "web API" option): the
/// project in templates/WebApi, compiled and tested in this repository as it is, carried here as resources. It
/// serves ../model.zip with ML.NET alone — pooled prediction engines, the image decoded as training decoded it, a
/// health endpoint, bad uploads answered with the reason, a new model written over the old one served without a restart.
/// Only appsettings.json is written for the model: its file and the pixel limit (the side the app reads from the model).</summary>
public static class WebApiCode
{
    public const string Folder = "WebApi";
    const string Prefix = "MlNetTransfer.Cli.WebApi.";

    /// <summary>The template's files, by name.</summary>
    public static IReadOnlyList<string> Files { get; } = typeof(WebApiCode).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).Order(StringComparer.Ordinal).ToList();

    public static string Source(string file)
    {
        using var stream = typeof(WebApiCode).Assembly.GetManifestResourceStream(Prefix + file)
            ?? throw new InvalidOperationException($"the web API template has no {file}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Writes the app into <paramref name="outputFolder"/>/WebApi, each file whole or not at all; returns
    /// the folder.</summary>
    public static string Write(string outputFolder, string modelFile, long maxImagePixels)
    {
        var folder = Directory.CreateDirectory(Path.Combine(outputFolder, Folder)).FullName;
        foreach (var file in Files)
        {
            var text = file == "appsettings.json" ? Settings(Source(file), Path.GetFileName(modelFile), maxImagePixels) : Source(file);
            AtomicFile.Write(Path.Combine(folder, file), System.Text.Encoding.UTF8.GetBytes(text));
        }
        return folder;
    }

    static string Settings(string template, string modelFile, long maxImagePixels)
    {
        var settings = JsonNode.Parse(template)!;
        var model = settings["Model"]!;
        model["Path"] = $"../{modelFile}";
        model["MaxImagePixels"] = maxImagePixels;
        return settings.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The template's ImageDecoding class without its usings and namespace, for a single-file app.</summary>
    public static string ImageDecodingClass() => string.Join("\n", Source("ImageDecoding.cs").ReplaceLineEndings("\n").Split('\n')
        .SkipWhile(line => line.StartsWith("using ") || line.StartsWith("namespace ") || line.Length == 0));
}

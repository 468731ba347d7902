using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MlNetTransfer.Tests;

/// <summary>The packages as a user gets them: <c>dotnet pack</c> of the solution writes the library and the tool (and
/// nothing a user would not install); a brand-new console app outside the repository adds the library with
/// <c>dotnet add package</c>, trains on data-samples and saves a zip that the ML.NET-only consumer serves; the tool
/// installs with <c>dotnet tool install --tool-path</c>, trains and predicts, and the Train.cs its run writes trains the
/// same model from the package.</summary>
[Collection(SourceTreeBuildCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class PackageConsumerTests(PackedFolder packed) : IClassFixture<PackedFolder>
{
    const long NuGetOrgLimit = 250L * 1024 * 1024;
    static readonly string Version = PackedFolder.Version;
    static string Fashion(string split) => Path.Combine(TestPaths.DataSamples, "fashion-mnist", split);

    [Fact]
    public void Pack_writes_the_library_and_the_tool_with_their_metadata_and_symbols_and_nothing_else()
    {
        var files = Directory.GetFiles(packed.Path).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { $"MlNetTransfer.Estimators.{Version}.nupkg", $"mlnet-transfer.{Version}.nupkg", $"mlnet-transfer.linux-x64.{Version}.nupkg" }
            .Order(StringComparer.Ordinal), files);
        foreach (var file in Directory.GetFiles(packed.Path))
        {
            Assert.True(new FileInfo(file).Length < NuGetOrgLimit, $"{file}: {new FileInfo(file).Length} bytes, over NuGet.org's limit");
            using var zip = ZipFile.OpenRead(file);
            // the embedded ResNet18 reaches users once: through its own package (library) or in tools/ (the tool)
            Assert.DoesNotContain(zip.Entries, e => e.FullName.StartsWith("content") && e.Name.EndsWith(".onnx"));
            var metadata = Nuspec(zip);
            Assert.Equal(Version, Text(metadata, "version"));
            Assert.Equal("MIT", Text(metadata, "license"));
            Assert.Equal("README.md", Text(metadata, "readme"));
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.StartsWith(Version, Text(metadata, "releaseNotes"));
            Assert.Matches("^[0-9a-f]{40}$", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("commit")!.Value);
        }

        using var library = ZipFile.OpenRead(Path.Combine(packed.Path, $"MlNetTransfer.Estimators.{Version}.nupkg"));
        var entries = library.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/MlNetTransfer.Estimators.dll", entries);
        Assert.Contains("lib/net10.0/MlNetTransfer.Engine.dll", entries); // the engine travels inside, not as a package
        Assert.Contains("buildTransitive/MlNetTransfer.Estimators.targets", entries);
        foreach (var assembly in new[] { "MlNetTransfer.Estimators.dll", "MlNetTransfer.Engine.dll" })
        {
            using var bytes = new MemoryStream();
            using (var entry = library.GetEntry($"lib/net10.0/{assembly}")!.Open()) entry.CopyTo(bytes);
            bytes.Position = 0;
            using var pe = new System.Reflection.PortableExecutable.PEReader(bytes);
            Assert.Contains(pe.ReadDebugDirectory(), d => d.Type == System.Reflection.PortableExecutable.DebugDirectoryEntryType.EmbeddedPortablePdb);
        }
        var dependencies = Nuspec(library).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => e.Attribute("id")!.Value).ToList();
        Assert.Contains("TorchSharp-cpu", dependencies);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", dependencies);
        Assert.DoesNotContain(dependencies, d => d.StartsWith("MlNetTransfer"));

        using var tool = ZipFile.OpenRead(Path.Combine(packed.Path, $"mlnet-transfer.linux-x64.{Version}.nupkg"));
        var toolFiles = tool.Entries.Select(e => e.Name).ToHashSet();
        Assert.Contains("libtorch_cpu.so", toolFiles);
        Assert.Contains("ResNet18.onnx", toolFiles);
        Assert.DoesNotContain("libtorch_python.so", toolFiles);
    }

    [Fact]
    public void A_new_console_app_adds_the_package_trains_saves_and_the_MLNET_only_consumer_serves_its_zip()
    {
        using var temp = new TempDirectory();
        var app = NewConsoleAppWithThePackage(temp);
        File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);
        var (build, _) = ChildProcess.Run("dotnet", ["build", "-c", "Release", "-warnaserror", "--disable-build-servers"], app);
        var (stdout, _) = ChildProcess.Run("dotnet", ["run", "-c", "Release", "--no-build", "--", Fashion(""), Path.Combine(app, "model.zip")], app);
        Assert.Matches(@"trained: \w+ at \d+ px", stdout);
        Assert.True(File.Exists(Path.Combine(app, "bin", "Release", "net10.0", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx")), build);

        var rows = Directory.GetFiles(Fashion("test"), "*.png", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(Fashion(""), f), Path.GetFileName(Path.GetDirectoryName(f))!)).ToList();
        using var served = ConsumerProbeProcess.Score(Path.Combine(app, "model.zip"), Fashion(""), rows, temp, out _);
        Assert.Equal(rows.Count, served.RootElement.GetProperty("predictions").GetArrayLength());
        Assert.InRange(served.RootElement.GetProperty("MicroAccuracy").GetDouble(), 0.5, 1.0); // 10 classes: chance is 0.1
    }

    [Fact]
    public void An_app_on_the_newest_MLNET_trains_from_camera_JPEGs_and_serves_its_zip()
    {
        // `dotnet add package Microsoft.ML` gives a new app ML.NET 6, whose ImageAnalytics brings SkiaSharp 3: the
        // library (built on 5.0.1 and SkiaSharp 2.88) runs against both; a SkiaSharp call whose signature changed
        // failed there with MissingMethodException on the photo path alone
        using var temp = new TempDirectory();
        var photos = temp.File("photos");
        int count = TurnedJpegs.CopyEnlarged(Fashion(""), photos, side: 320, turnEvery: 4);
        var app = NewConsoleAppWithThePackage(temp, NewestMlNet.Select(p => (p, "6.0.0")).ToArray());
        File.WriteAllText(Path.Combine(app, "Program.cs"), PhotoProgram);
        ChildProcess.Run("dotnet", ["build", "-c", "Release", "-warnaserror", "--disable-build-servers"], app);

        var (stdout, _) = ChildProcess.Run("dotnet", ["run", "-c", "Release", "--no-build", "--", photos, Path.Combine(app, "model.zip")], app);

        Assert.Contains("ML.NET 6.0.0, SkiaSharp 3.", stdout);
        var numbers = Regex.Match(stdout, @"trained on (\d+) images, (\d+) skipped; test accuracy ([\d.]+), served ([\d.]+); (\d+) heatmap").Groups;
        Assert.True(numbers[1].Success, stdout);
        Assert.Equal((count - 100, 0), (int.Parse(numbers[1].Value), int.Parse(numbers[2].Value)));
        Assert.InRange(double.Parse(numbers[3].Value, System.Globalization.CultureInfo.InvariantCulture), 0.5, 1.0); // 10 classes: chance is 0.1
        // served by the zip's own LoadImages, which reads the quarter stored upside down as stored (README, Limits)
        Assert.InRange(double.Parse(numbers[4].Value, System.Globalization.CultureInfo.InvariantCulture), 0.3, 1.0);
        Assert.Equal("1", numbers[5].Value);
    }

    [Fact]
    public void An_app_that_chooses_the_external_libtorch_carries_none_and_is_told_where_to_point()
    {
        using var temp = new TempDirectory();
        var app = NewConsoleAppWithThePackage(temp);
        var project = Path.Combine(app, "PhotoSorter.csproj");
        File.WriteAllText(project, File.ReadAllText(project).Replace("</PropertyGroup>",
            "  <MlNetTransferTorchFlavour>external</MlNetTransferTorchFlavour>\n  </PropertyGroup>"));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            try { MlNetTransfer.Runtime.TorchRuntime.EnsureLoaded(); Console.WriteLine("loaded"); }
            catch (MlNetTransfer.Runtime.TorchLoadException e) { Console.WriteLine("refused: " + e.Message); }
            """);
        ChildProcess.Run("dotnet", ["build", "-c", "Release", "-warnaserror", "--disable-build-servers"], app);
        var output = Path.Combine(app, "bin", "Release", "net10.0");
        Assert.Empty(Directory.GetFiles(output, "libtorch_cpu.so", SearchOption.AllDirectories));
        Assert.NotEmpty(Directory.GetFiles(output, "libLibTorchSharp.so", SearchOption.AllDirectories)); // TorchSharp's bridge stays

        var (stdout, _) = ChildProcess.Run("dotnet", ["run", "-c", "Release", "--no-build"], app,
            environment: new Dictionary<string, string?> { ["MLNETTRANSFER_LIBTORCH"] = null, ["LD_LIBRARY_PATH"] = null });
        Assert.StartsWith("refused: This app carries no libtorch", stdout.Trim());
        Assert.Contains("MLNETTRANSFER_LIBTORCH", stdout);
    }

    [Fact]
    public async Task The_tool_installs_from_the_packed_folder_trains_and_predicts_and_its_Train_cs_trains_the_same_model()
    {
        using var temp = new TempDirectory();
        var tools = temp.File("tools");
        ChildProcess.Run("dotnet", ["tool", "install", "mlnet-transfer", "--tool-path", tools, "--add-source", packed.Path, "--version", Version], temp.Path);
        var command = Path.Combine(tools, "mlnet-transfer");

        Assert.Contains(Version, ChildProcess.Run(command, ["--version"], temp.Path).Stdout);
        var output = temp.File("out");
        ChildProcess.Run(command, ["train", "--data", Fashion("train"), "--test", Fashion("test"), "--strategy", "HeadOnly",
            "--image-size", "64", "--out", output], temp.Path);
        Assert.True(File.Exists(Path.Combine(output, "model.zip")));
        Assert.True(File.Exists(Path.Combine(output, "report.html")));

        var image = Directory.GetFiles(Path.Combine(Fashion("test"), "Trouser")).Order().First();
        var (predicted, _) = ChildProcess.Run(command, ["predict", "--model", Path.Combine(output, "model.zip"), image, "--top", "1"], temp.Path);
        Assert.Matches(new Regex(@"(Trouser|Dress|T-shirt|Shirt|Pullover|Coat|Sandal|Sneaker|Bag|Ankle_boot)\S* \d+(\.\d)? ?%"), predicted);

        // the run's Train.cs, run as a user runs it with the library from the packed folder, trains the same model; its
        // images given as a spreadsheet saves them (ML.NET's column names, semicolons, the class first), as the CLI reads them
        File.WriteAllText(Path.Combine(output, "nuget.config"), NuGetConfig);
        RemoveCachedLibrary();
        var trained = File.ReadAllLines(Path.Combine(output, "training-images.csv")).Skip(1).Select(line => line.Split(','));
        File.WriteAllLines(Path.Combine(output, "spreadsheet.csv"), ["Label;Note;ImagePath", .. trained.Select(f => $"{f[1]};\"taken 3 May; 2024\";{f[0]}")]);
        var (script, _) = await FileBasedApp.Run(Path.Combine(output, "Train.cs"), output, "--data", "spreadsheet.csv", "--test", "test-images.csv");
        Assert.Contains("trained: HeadOnly at 64 px on 400 images", script);
        using (var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))))
        {
            var test = metrics.RootElement.GetProperty("test"); // the tool's report: the same images, decoded alike
            var printed = Regex.Match(script, @"test: accuracy ([\d.]+) ?%, log-loss ([\d.]+) on 100 images").Groups;
            Assert.True(printed[1].Success, script);
            Assert.Equal(Math.Round(100 * test.GetProperty("microAccuracy").GetDouble(), 1), double.Parse(printed[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(Math.Round(test.GetProperty("logLoss").GetDouble(), 3), double.Parse(printed[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        var mlContext = new Microsoft.ML.MLContext();
        var rows = ImageRow.Samples("test").Select(r => new ImageRow { ImagePath = Path.Combine(ImageRow.Root, r.ImagePath) }); // the zips read from their own folders
        using var trainedByTheTool = mlContext.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(mlContext.Model.Load(Path.Combine(output, "model.zip"), out _));
        using var retrained = mlContext.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(mlContext.Model.Load(Path.Combine(output, "retrained-model.zip"), out _));
        foreach (var row in rows)
        {
            var (first, second) = (trainedByTheTool.Predict(row), retrained.Predict(row));
            Assert.Equal(first.PredictedLabel, second.PredictedLabel);
            Assert.Equal(first.Score, second.Score, (IEqualityComparer<float>)new Tolerance(1e-5));
        }
    }

    /// <summary>`dotnet new console` in a folder under the system temp folder (no Directory.Build.* of this
    /// repository above it), then `dotnet add package` of <paramref name="before"/> (from NuGet) and of the library
    /// from the packed folder.</summary>
    string NewConsoleAppWithThePackage(TempDirectory temp, params (string Id, string Version)[] before)
    {
        var app = Directory.CreateDirectory(temp.File("app")).FullName;
        ChildProcess.Run("dotnet", ["new", "console", "--framework", "net10.0", "--name", "PhotoSorter", "--output", app], app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), NuGetConfig);
        RemoveCachedLibrary();
        foreach (var (id, version) in before) ChildProcess.Run("dotnet", ["add", "package", id, "--version", version], app);
        ChildProcess.Run("dotnet", ["add", "package", "MlNetTransfer.Estimators", "--version", Version], app);
        return app;
    }

    /// <summary>A nuget.config that adds the packed folder to NuGet's sources.</summary>
    string NuGetConfig => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration><packageSources><add key="packed" value="{packed.Path}" /></packageSources></configuration>
        """;

    /// <summary>This version's package may sit in NuGet's cache from an earlier pack: an app must get the one packed now.</summary>
    static void RemoveCachedLibrary()
    {
        var cached = Path.Combine(TestPaths.NuGetPackageRoot, "mlnettransfer.estimators", Version);
        if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
    }

    static XElement Nuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec") && !e.FullName.Contains('/')).Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    static string Text(XElement metadata, string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;

    /// <summary>What a user writes after <c>dotnet add package</c>: the README's pipeline, trained on a folder of
    /// images and saved.</summary>
    const string ConsumerProgram = """
        using Microsoft.ML;
        using MlNetTransfer.Engine.Strategies;
        using MlNetTransfer.MlNet;

        var (root, zip) = (args[0], args[1]);
        var rows = Directory.GetFiles(Path.Combine(root, "train"), "*.png", SearchOption.AllDirectories)
            .Select(f => new Row { ImagePath = Path.GetRelativePath(root, f), Label = Path.GetFileName(Path.GetDirectoryName(f))! });
        var mlContext = new MLContext(seed: 1);
        var train = mlContext.Data.LoadFromEnumerable(rows);
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoadImages("Image", root, "ImagePath"))
            .Append(mlContext.TransferTrain(new TransferTrainOptions { ImageSize = 64, Strategy = FineTuneStrategy.HeadOnly }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        mlContext.Model.Save(model, train.Schema, zip);
        var step = model.OfType<MlNetTransfer.MlNet.TransferTrainTransformer>().Single();
        Console.WriteLine($"trained: {step.Strategy} at {step.ImageSize} px");

        class Row
        {
            public string ImagePath { get; set; } = "";
            public string Label { get; set; } = "";
        }
        """;

    /// <summary>The ML.NET packages a new app gets today, added before the library.</summary>
    static readonly string[] NewestMlNet = ["Microsoft.ML", "Microsoft.ML.ImageAnalytics", "Microsoft.ML.OnnxTransformer"];

    /// <summary>The photo path on the newest ML.NET: JPEG files decoded by the step (DCT-scaled, turned upright), the
    /// data checks with a test set, Grad-CAM, and the saved zip served by a PredictionEngine.</summary>
    const string PhotoProgram = """
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using MlNetTransfer.Engine.Strategies;
        using MlNetTransfer.MlNet;

        var (root, zip) = (args[0], args[1]);
        Row[] Rows(string split) => Directory.GetFiles(Path.Combine(root, split), "*.jpg", SearchOption.AllDirectories).Order()
            .Select(f => new Row { ImagePath = Path.GetRelativePath(root, f), Label = Path.GetFileName(Path.GetDirectoryName(f))! }).ToArray();
        var mlContext = new MLContext(seed: 1);
        var (trainRows, testRows) = (Rows("train"), Rows("test"));
        var train = mlContext.Data.LoadFromEnumerable(trainRows);
        var keys = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(train);
        var images = mlContext.Transforms.LoadImages("Image", root, "ImagePath");
        var test = images.Fit(keys.Transform(train)).Transform(keys.Transform(mlContext.Data.LoadFromEnumerable(testRows)));
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(images)
            .Append(mlContext.TransferTrain(new TransferTrainOptions
            {
                ImageSize = 64, Strategy = FineTuneStrategy.HeadOnly, ImagePathColumnName = "ImagePath", ImageFolder = root, TestSet = test,
            }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        var step = model.OfType<TransferTrainTransformer>().Single();
        var accuracy = mlContext.MulticlassClassification.Evaluate(model.Transform(mlContext.Data.LoadFromEnumerable(testRows))).MicroAccuracy;
        var heatmaps = step.Heatmaps([Path.Combine(root, testRows[0].ImagePath)], [0]).Count(m => m != null);
        mlContext.Model.Save(model, train.Schema, zip);

        using var engine = mlContext.Model.CreatePredictionEngine<Row, Prediction>(mlContext.Model.Load(zip, out _)); // disposed: ML.NET's copy of the network leaves /tmp
        var served = testRows.Count(r => engine.Predict(r).PredictedLabel == r.Label) / (double)testRows.Length;
        Console.WriteLine($"ML.NET {Version(typeof(MLContext))}, SkiaSharp {Version(typeof(SkiaSharp.SKBitmap))}: trained on " +
            $"{step.DataHealth.TrainImages} images, {step.SkippedImages.Count} skipped; test accuracy {accuracy:0.000}, served {served:0.000}; {heatmaps} heatmap");

        static string Version(Type type) => System.Diagnostics.FileVersionInfo.GetVersionInfo(type.Assembly.Location).ProductVersion!.Split('+')[0];

        class Row
        {
            public string ImagePath { get; set; } = "";
            public string Label { get; set; } = "";
        }

        class Prediction
        {
            public string PredictedLabel { get; set; } = "";
        }
        """;
}

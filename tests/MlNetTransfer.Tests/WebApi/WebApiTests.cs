using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Cli.Reporting;
using MlNetTransfer.MlNet;
using WebApi;

namespace MlNetTransfer.Tests;

/// <summary>The web API `train --web-api` writes (templates/WebApi), hosted in-process on a model trained here: real
/// images get the classes and scores the model gives in ML.NET, a truncated image, a non-image, an empty or an
/// oversized upload get the reason, and concurrent requests share the pooled engines.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public sealed class WebApiTests : IDisposable
{
    readonly TrainedPipeline _trained;
    readonly TempDirectory _temp = new();
    readonly WebApplicationFactory<ImageClassifier> _factory;
    readonly HttpClient _client;

    public WebApiTests(TrainedPipeline trained)
    {
        _trained = trained;
        var zip = _temp.File("model.zip");
        trained.MLContext.Model.Save(trained.Model, trained.Train.Schema, zip);
        _factory = new WebApplicationFactory<ImageClassifier>().WithWebHostBuilder(host => host
            .UseSetting("Model:Path", zip)
            .UseSetting("Model:ImageSize", "64")
            .UseSetting("Model:MaxUploadBytes", "100000"));
        _client = _factory.CreateClient();
    }

    TransferTrainTransformer Transfer => _trained.Model.OfType<TransferTrainTransformer>().Single();

    [Fact]
    public async Task Health_names_the_model_and_its_classes_in_score_order()
    {
        using var health = JsonDocument.Parse(await _client.GetStringAsync("/health", TestContext.Current.CancellationToken));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.Equal("model.zip", health.RootElement.GetProperty("model").GetString());
        Assert.Equal(Transfer.ClassNames, health.RootElement.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task The_openapi_document_describes_both_endpoints_their_answers_and_the_upload()
    {
        using var document = JsonDocument.Parse(await _client.GetStringAsync("/openapi/v1.json", TestContext.Current.CancellationToken));
        var paths = document.RootElement.GetProperty("paths");
        var predict = paths.GetProperty("/predict").GetProperty("post");
        var responses = predict.GetProperty("responses");
        string Schema(JsonElement response) => response.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
        Assert.Equal("#/components/schemas/Prediction", Schema(responses.GetProperty("200")));
        Assert.Equal("#/components/schemas/ApiError", Schema(responses.GetProperty("400")));
        Assert.Equal("#/components/schemas/ApiError", Schema(responses.GetProperty("413")));
        var upload = predict.GetProperty("requestBody").GetProperty("content");
        Assert.Equal("binary", upload.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties").GetProperty("image").GetProperty("format").GetString());
        Assert.Equal("binary", upload.GetProperty("image/jpeg").GetProperty("schema").GetProperty("format").GetString());
        Assert.Equal("#/components/schemas/Health", Schema(paths.GetProperty("/health").GetProperty("get").GetProperty("responses").GetProperty("200")));
        var prediction = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("Prediction").GetProperty("properties");
        Assert.Equal(["predictedLabel", "score", "sure", "unfamiliar", "scores"], prediction.EnumerateObject().Select(p => p.Name)); // as the answers are written
    }

    [Fact]
    public async Task Real_images_posted_as_a_form_or_as_the_body_get_the_scores_the_model_gives_in_MLNET()
    {
        var rows = ImageRow.Samples("test");
        var scored = _trained.Score(_trained.Model);
        var labels = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(l => l.ToString()).ToList();
        var scores = scored.GetColumn<float[]>("Score").ToList();
        var unfamiliar = scored.GetColumn<bool>("Unfamiliar").ToList();
        for (int i = 0; i < rows.Count; i += 9)
        {
            var bytes = File.ReadAllBytes(Path.Combine(ImageRow.Root, rows[i].ImagePath));
            foreach (var answer in new[] { await PostForm(bytes, "image/png"), await PostBody(bytes, "image/png") })
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                var prediction = (await answer.Content.ReadFromJsonAsync<Prediction>(Web, TestContext.Current.CancellationToken))!;
                Assert.Equal(labels[i], prediction.PredictedLabel);
                Assert.Equal(scores[i].Max(), prediction.Score, 1e-5f);
                Assert.Equal(unfamiliar[i], prediction.Unfamiliar);
                Assert.Equal(prediction.Score >= 0.9f && !unfamiliar[i], prediction.Sure); // the default Model:MinScore
                Assert.Equal(prediction.Scores.OrderByDescending(s => s.Score), prediction.Scores);
                foreach (var (name, k) in Transfer.ClassNames.Select((n, k) => (n, k)))
                    Assert.Equal(scores[i][k], prediction.Scores.Single(s => s.Label == name).Score, 1e-5f);
            }
        }
    }

    [Fact]
    public async Task An_image_unlike_every_training_image_is_answered_unfamiliar_and_never_sure()
    {
        var random = new Random(11);
        using var noise = new SkiaSharp.SKBitmap(64, 64);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                noise.SetPixel(x, y, new SkiaSharp.SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
        using var png = noise.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);

        using var factory = WithMinScore("0"); // every score reaches it: only the flag can keep the answer from being sure
        using var client = factory.CreateClient();
        var content = new ByteArrayContent(png.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var answer = await client.PostAsync("/predict", content, TestContext.Current.CancellationToken);
        var prediction = (await answer.Content.ReadFromJsonAsync<Prediction>(Web, TestContext.Current.CancellationToken))!;

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.True(prediction.Unfamiliar);
        Assert.False(prediction.Sure);
    }

    [Fact]
    public async Task Concurrent_requests_share_the_pooled_engines_and_each_gets_its_own_answer()
    {
        var images = ImageRow.Samples("test").Take(16).Select(r => File.ReadAllBytes(Path.Combine(ImageRow.Root, r.ImagePath))).ToList();
        var alone = new List<string>();
        foreach (var image in images) alone.Add(await (await PostBody(image, "image/png")).Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        var together = await Task.WhenAll(images.Select(async image => await (await PostBody(image, "image/png")).Content.ReadAsStringAsync(TestContext.Current.CancellationToken)));
        Assert.Equal(alone, together);
    }

    [Theory]
    [InlineData("truncated", HttpStatusCode.BadRequest, "truncated or damaged image")]
    [InlineData("text", HttpStatusCode.BadRequest, "not an image")]
    [InlineData("empty", HttpStatusCode.BadRequest, "the upload is empty")]
    [InlineData("oversized", HttpStatusCode.RequestEntityTooLarge, "over 100000 bytes")]
    [InlineData("form without a file", HttpStatusCode.BadRequest, "the form holds no file")]
    [InlineData("header bomb", HttpStatusCode.BadRequest, "50000x50000 pixels: over the limit")] // ended the server (a disposed codec read)
    [InlineData("pixels past 4 GB", HttpStatusCode.BadRequest, "truncated or damaged image")]    // ended the server (an exception in Skia's read)
    public async Task Bad_uploads_are_answered_with_the_reason(string upload, HttpStatusCode status, string reason)
    {
        var png = File.ReadAllBytes(Path.Combine(ImageRow.Root, ImageRow.Samples("test")[0].ImagePath));
        using var answer = upload switch
        {
            "truncated" => await PostBody(png[..(png.Length / 2)], "image/png"),
            "text" => await PostBody("this is not an image"u8.ToArray(), "text/plain"),
            "empty" => await PostBody([], "image/png"),
            "oversized" => await PostForm(new byte[150_000], "image/png"),
            "header bomb" => await PostBody(HostileImages.PngHeaderOnly(50_000, 50_000), "image/png"),
            "pixels past 4 GB" => await PostBody(HostileImages.Bmp(32, 24, pixelsAt: 0xFF80_0036), "image/bmp"),
            _ => await _client.PostAsync("/predict", new MultipartFormDataContent { { new StringContent("x"), "note" } }, TestContext.Current.CancellationToken),
        };
        Assert.Equal(status, answer.StatusCode);
        using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Contains(reason, body.RootElement.GetProperty("error").GetString());
        using var next = await PostBody(png, "image/png");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode); // and the server goes on serving
    }

    [Fact]
    public void Train_writes_the_template_as_it_is_tested_here_with_the_models_file_and_pixel_limit_in_its_settings()
    {
        var folder = WebApiCode.Write(_temp.Path, "model.zip", maxImagePixels: 1234567);
        var template = Path.Combine(TestPaths.RepositoryRoot, "templates", "WebApi");
        foreach (var file in new[] { "Program.cs", "ImageClassifier.cs", "ImageDecoding.cs", "DecodeBudget.cs", "OnnxThreads.cs", "UploadDocument.cs", "Uploads.cs",
                     "ModelSettings.cs", "ModelTypes.cs", "ServedModel.cs", "ModelWatcher.cs", "WebApi.csproj" })
            Assert.Equal(File.ReadAllText(Path.Combine(template, file)), File.ReadAllText(Path.Combine(folder, file)));
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "appsettings.json")));
        var model = settings.RootElement.GetProperty("Model");
        Assert.Equal("../model.zip", model.GetProperty("Path").GetString());
        Assert.False(model.TryGetProperty("ImageSize", out _)); // read from the model, so a reloaded model brings its own
        Assert.Equal(1234567, model.GetProperty("MaxImagePixels").GetInt64());
        Assert.Equal(Directory.GetFiles(template).Select(Path.GetFileName).Order(), Directory.GetFiles(folder).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task The_written_app_publishes_on_its_own_to_a_folder_that_serves_the_zip_over_http_wherever_it_runs()
    {
        // as a user has it: out/model.zip and out/WebApi/, in a folder with no Directory.Build.* of this repository above
        var output = Directory.CreateDirectory(_temp.File("out")).FullName;
        File.Copy(_temp.File("model.zip"), Path.Combine(output, "model.zip"));
        var app = WebApiCode.Write(output, "model.zip", maxImagePixels: 178_956_970);
        // deployed: published to another folder, run from there with out/ gone (the model travels inside);
        // build servers (Razor's, the compiler's) would outlive the build holding its output pipes open
        var deployed = Path.Combine(_temp.File("srv"), "classifier"); // no model.zip in the folder above it
        ChildProcess.Run("dotnet", ["publish", "-c", "Release", "-o", deployed, "-warnaserror", "--disable-build-servers"], app);
        Directory.Move(output, _temp.File("out-moved"));

        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(deployed, "WebApi.dll"), "--urls", "http://127.0.0.1:0"])
        { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = deployed };
        // ML.NET copies the zip's ONNX network to a temporary file while the model is loaded
        var tempFolder = Directory.CreateDirectory(_temp.File("server-tmp")).FullName;
        start.Environment["TMPDIR"] = tempFolder;
        // as in a container with a memory limit: .NET then counts 256 MB as the memory the app may use
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x10000000";
        using var server = System.Diagnostics.Process.Start(start)!;
        bool stopped = false;
        try
        {
            string? address = null;
            while (address == null && await server.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
                if (line.Contains("Now listening on: ")) address = line[(line.IndexOf("http", StringComparison.Ordinal))..].Trim();
            if (address == null) Assert.Fail($"the app did not start: {await server.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
            using var http = new HttpClient { BaseAddress = new Uri(address!) };
            Assert.Contains("\"status\":\"ok\"", await http.GetStringAsync("/health", TestContext.Current.CancellationToken));
            var image = ImageRow.Samples("test")[0];
            using var answer = await http.PostAsync("/predict", new ByteArrayContent(File.ReadAllBytes(Path.Combine(ImageRow.Root, image.ImagePath))), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var prediction = (await answer.Content.ReadFromJsonAsync<Prediction>(Web, TestContext.Current.CancellationToken))!;
            Assert.Contains(prediction.PredictedLabel, Transfer.ClassNames);
            // a 0.1 MB PNG of 6000 × 6000 takes 137 MB decoded: more than half of 256 MB, so it is refused
            HostileImages.WriteBlankGreyPng(_temp.File("large.png"), 6000);
            using var large = await http.PostAsync("/predict", new ByteArrayContent(File.ReadAllBytes(_temp.File("large.png"))), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, large.StatusCode);
            Assert.Contains("needs 137 MB to decode, more than one image may take in this process (128 MB: half the 256 MB it may use)",
                await large.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            var copies = Directory.GetFiles(tempFolder).Where(f => new FileInfo(f).Length > 1 << 20).ToList();
            Assert.Single(copies); // the loaded model's copy of its network (tens of MB)

            // a new model written over the one published (the previous release's tiny network, at 16 px) is served
            // without a restart, and the old model's copy goes once no request holds it
            var beforeReload = Directory.GetFiles(tempFolder);
            var copy = Path.Combine(deployed, "model.zip.new");
            File.Copy(Path.Combine(TestPaths.Fixture("previous-release"), "model.zip"), copy);
            File.Move(copy, Path.Combine(deployed, "model.zip"), overwrite: true);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!(await http.GetStringAsync("/health", TestContext.Current.CancellationToken)).Contains("\"imageSize\":16"))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the app did not serve the new model within a minute");
                await Task.Delay(200, TestContext.Current.CancellationToken);
            }
            using var next = await http.PostAsync("/predict", new ByteArrayContent(File.ReadAllBytes(Path.Combine(ImageRow.Root, image.ImagePath))), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            clock.Restart(); // disposed off the request's thread, once no request holds it
            while (File.Exists(copies[0]))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the replaced model's temporary copy is still there after 30 s");
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            // stopped as a service manager stops it, the app disposes the model, and the copy goes with it
            var served = Directory.GetFiles(tempFolder).Except(beforeReload).ToList(); // the new model's copy
            Assert.NotEmpty(served);
            Assert.True(Signals.Terminate(server.Id));
            stopped = server.WaitForExit(TimeSpan.FromSeconds(30));
            Assert.True(stopped, "the app did not stop within 30 s of SIGTERM");
            Assert.All(served, file => Assert.False(File.Exists(file), $"the stopped app left its model's temporary copy {file} behind"));
        }
        finally
        {
            if (!stopped) server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Model_MinScore_marks_the_answers_that_reach_it_sure_and_one_outside_zero_to_one_stops_the_start_naming_it()
    {
        var png = File.ReadAllBytes(Path.Combine(ImageRow.Root, ImageRow.Samples("test")[0].ImagePath));
        async Task<Prediction> Answer(string minScore)
        {
            using var factory = WithMinScore(minScore);
            using var client = factory.CreateClient();
            var content = new ByteArrayContent(png);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var answer = await client.PostAsync("/predict", content, TestContext.Current.CancellationToken);
            return (await answer.Content.ReadFromJsonAsync<Prediction>(Web, TestContext.Current.CancellationToken))!;
        }

        static string Text(float score) => score.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var anything = await Answer("0");
        var exact = await Answer(Text(anything.Score));
        float next = MathF.BitIncrement(anything.Score); // the least score above it
        var above = next <= 1 ? await Answer(Text(next)) : null;
        using var wrong = WithMinScore("90");

        Assert.True(anything.Sure);
        Assert.True(exact.Sure, $"a score of {anything.Score} is sure at {anything.Score}");
        if (above != null) Assert.False(above.Sure, $"a score of {anything.Score} is not sure at {next}");
        var error = Assert.ThrowsAny<Exception>(() => wrong.CreateClient());
        Assert.Contains("Model:MinScore in appsettings.json must be a score from 0 to 1 (such as 0.9), not 90", error.ToString());
    }

    WebApplicationFactory<ImageClassifier> WithMinScore(string minScore) => new WebApplicationFactory<ImageClassifier>().WithWebHostBuilder(host => host
        .UseSetting("Model:Path", _temp.File("model.zip"))
        .UseSetting("Model:ImageSize", "64")
        .UseSetting("Model:MinScore", minScore));

    [Fact]
    public async Task Consume_cs_runs_as_written_and_predicts_with_the_same_decoding_class()
    {
        var folder = Directory.CreateDirectory(_temp.File("consume")).FullName;
        File.Copy(_temp.File("model.zip"), Path.Combine(folder, "model.zip"));
        File.WriteAllText(Path.Combine(folder, ReportWriter.ConsumeFile), ConsumptionCode.Render("model.zip", Transfer.ClassNames, 64, flags: true));
        var image = ImageRow.Samples("test")[0];
        var (stdout, _) = await FileBasedApp.Run(Path.Combine(folder, ReportWriter.ConsumeFile), folder, Path.Combine(ImageRow.Root, image.ImagePath));

        var expected = _trained.Score(_trained.Model).GetColumn<ReadOnlyMemory<char>>("PredictedLabel").First().ToString();
        Assert.StartsWith($"{expected} (", stdout.Trim());
    }

    static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    Task<HttpResponseMessage> PostBody(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return _client.PostAsync("/predict", content);
    }

    Task<HttpResponseMessage> PostForm(byte[] bytes, string type)
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        return _client.PostAsync("/predict", new MultipartFormDataContent { { file, "image", "upload.png" } });
    }

    public void Dispose()
    {
        _client.Dispose();
        _factory.Dispose();
        _temp.Dispose();
    }
}

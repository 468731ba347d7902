using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using MlNetTransfer.MlNet;
using WebApi;

namespace MlNetTransfer.Tests;

/// <summary>The generated web API serves a new model written over its model.zip without a restart (Model Builder's
/// watchForChanges): while requests keep coming, a file that is no model leaves the old one serving with the reason
/// in /health, another model (another side, another network) is then served, and a request that started on the old
/// model finishes on it.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public sealed class WebApiReloadTests(TrainedPipeline trained) : IDisposable
{
    readonly TempDirectory _temp = new();
    static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task A_model_written_over_the_served_one_is_served_without_a_restart_and_one_that_does_not_load_leaves_the_old_serving()
    {
        var cancel = TestContext.Current.CancellationToken;
        var zip = _temp.File("model.zip");
        trained.MLContext.Model.Save(trained.Model, trained.Train.Schema, zip);
        using var factory = new WebApplicationFactory<ImageClassifier>().WithWebHostBuilder(host => host
            .UseSetting("Model:Path", zip)
            .UseSetting("Model:WatchSeconds", "0.05"));
        using var client = factory.CreateClient();
        var png = File.ReadAllBytes(Path.Combine(ImageRow.Root, ImageRow.Samples("test")[0].ImagePath));

        var first = await Health(client, cancel);
        Assert.Equal(64, first.ImageSize); // no Model:ImageSize: the side the model was trained at, from the model
        Assert.Null(first.ReloadError);
        var before = await Predict(client, png, cancel);

        // four clients post all along; every request is answered
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int answered = 0;
            while (!stop.IsCancellationRequested)
            {
                using var answer = await client.PostAsync("/predict", Body(png), CancellationToken.None);
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                answered++;
            }
            return answered;
        }, CancellationToken.None)).ToList();

        // a file that is no model, written in place: the old model serves on, /health and the log say why
        await File.WriteAllBytesAsync(zip, [.. "PK not a model"u8], cancel);
        var failed = await HealthOnce(client, h => h.ReloadError != null, cancel);
        Assert.Contains($"{zip} written at ", failed.ReloadError);
        Assert.Contains("did not load, so the model loaded at", failed.ReloadError);
        Assert.Equal(first.Loaded, failed.Loaded);
        Assert.Equal(before.PredictedLabel, (await Predict(client, png, cancel)).PredictedLabel);

        // a request that borrowed the served model before the next one arrives keeps it
        var served = factory.Services.GetRequiredService<ServedModel>();
        using (var lease = served.Borrow())
        {
            // another model (a tiny network trained at 16 px by the previous release) written over it as train writes: whole, by a rename
            var next = _temp.File("model.zip.new");
            File.Copy(Path.Combine(TestPaths.Fixture("previous-release"), "model.zip"), next);
            File.Move(next, zip, overwrite: true);
            var reloaded = await HealthOnce(client, h => h.ImageSize == 16, cancel);
            Assert.Null(reloaded.ReloadError);
            Assert.True(reloaded.Loaded > first.Loaded);
            Assert.Equal(Transfer.ClassNames.Order(), reloaded.Classes.Order());
            using (var now = served.Borrow()) Assert.NotSame(lease.Classifier, now.Classifier);

            var old = await lease.Classifier.PredictAsync(png, cancel);
            Assert.Equal(before.PredictedLabel, old.PredictedLabel);
            Assert.Equal(before.Score, old.Score, 1e-5);
        }
        stop.Cancel();
        var answered = await Task.WhenAll(clients);
        Assert.All(answered, count => Assert.True(count > 0));
        Assert.Equal(16, (await Health(client, cancel)).ImageSize);
    }

    [Fact]
    public void Model_WatchSeconds_must_be_above_zero_and_the_start_names_it()
    {
        var zip = _temp.File("model.zip");
        trained.MLContext.Model.Save(trained.Model, trained.Train.Schema, zip);
        using var factory = new WebApplicationFactory<ImageClassifier>().WithWebHostBuilder(host => host
            .UseSetting("Model:Path", zip)
            .UseSetting("Model:WatchSeconds", "0"));
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Model:WatchSeconds in appsettings.json must be a number of seconds above 0 (such as 2), not 0", error.ToString());
    }

    TransferTrainTransformer Transfer => trained.Model.OfType<TransferTrainTransformer>().Single();

    static ByteArrayContent Body(byte[] png)
    {
        var content = new ByteArrayContent(png);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    static async Task<Prediction> Predict(HttpClient client, byte[] png, CancellationToken cancel)
    {
        using var answer = await client.PostAsync("/predict", Body(png), cancel);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return (await answer.Content.ReadFromJsonAsync<Prediction>(Web, cancel))!;
    }

    static async Task<Health> Health(HttpClient client, CancellationToken cancel) =>
        (await client.GetFromJsonAsync<Health>("/health", Web, cancel))!;

    /// <summary>/health once it says what <paramref name="done"/> waits for; fails after a minute.</summary>
    static async Task<Health> HealthOnce(HttpClient client, Func<Health, bool> done, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var health = await Health(client, cancel);
            if (done(health)) return health;
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"/health after a minute: {JsonSerializer.Serialize(health, Web)}");
            await Task.Delay(50, cancel);
        }
    }

    public void Dispose() => _temp.Dispose();
}

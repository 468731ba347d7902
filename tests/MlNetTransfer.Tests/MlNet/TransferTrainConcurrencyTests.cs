using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Fits in one process take turns (<see cref="SeededRunGate"/>): each gives the model its seed gives alone,
/// a waiting one says why, and its token ends the wait.</summary>
[Collection(TorchRandomCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
[Trait(TestCategory.Trait, TestCategory.Gpu)]
public class TransferTrainConcurrencyTests
{
    public TransferTrainConcurrencyTests() => TorchRuntime.EnsureLoaded();

    /// <summary>TransferTrainBehaviourTests' quick fit (augmented: its draws are the ones a turn protects).</summary>
    static IEstimator<ITransformer> Pipeline(MLContext ml, Action<TransferTrainOptions> change) =>
        TransferTrainBehaviourTests.Pipeline(ml, TransferTrainBehaviourTests.Quick(o => { o.Augment = true; change(o); }));

    /// <summary>A context whose temporary files go to <paramref name="temp"/>, and data-samples' training images.</summary>
    static (MLContext Ml, IDataView Data) Samples(TempDirectory temp)
    {
        var ml = new MLContext(seed: 1) { TempFilePath = temp.Path };
        return (ml, ml.Data.LoadFromEnumerable(ImageRow.Samples("train", perClass: 4)));
    }

    [Fact]
    public async Task Fits_running_at_once_in_one_process_each_give_the_model_their_seed_gives_alone()
    {
        float[][] Scores(int seed)
        {
            using var temp = new TempDirectory();
            var (ml, data) = Samples(temp);
            using var model = (IDisposable)Pipeline(ml, o => o.Seed = seed).Fit(data);
            return ((ITransformer)model).Transform(data).GetColumn<float[]>("Score").ToArray();
        }

        var alone = new[] { Scores(3), Scores(4) };
        // a web app training per request, a parameter sweep on Parallel.ForEach: torch's generator is the process's
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Scores(3 + i % 2), TestContext.Current.CancellationToken)));

        for (var i = 0; i < together.Length; i++)
            if (TestDevice.IsCuda)
                Assert.All(alone[i % 2].Zip(together[i]), p => Assert.Equal(p.First, p.Second, (IEqualityComparer<float>)new Tolerance(TestDevice.RoundingTolerance)));
            else
                Assert.Equal(alone[i % 2], together[i]);
    }

    [Fact]
    public async Task A_fit_waits_while_another_run_in_the_process_holds_the_turn_and_says_why()
    {
        var token = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var (ml, data) = Samples(temp);
        var log = new List<string>();
        using var other = new TurnHeldElsewhere(token);

        var fit = Task.Run(() => ((IDisposable)Pipeline(ml, o => o.Log = m => { lock (log) log.Add(m); }).Fit(data)).Dispose(), token);
        bool Said() { lock (log) return log.Any(m => m.StartsWith("another run in this process is training", StringComparison.Ordinal)); }
        // the fit reaches the turn once it has its device and data (a GPU's start takes seconds)
        await TurnHeldElsewhere.Until(() => Said() || fit.IsCompleted, TimeSpan.FromMinutes(2), token);
        await Task.Delay(500, token); // and stays there: ten times the fit alone

        Assert.True(Said());
        Assert.False(fit.IsCompleted);
        await other.ReleaseAsync();
        await fit;
    }

    [Fact]
    public async Task A_fit_cancelled_while_it_waits_its_turn_throws_TrainingCancelledException_with_nothing_to_continue_from()
    {
        var token = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        var (ml, data) = Samples(temp);
        using var other = new TurnHeldElsewhere(token);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var thrown = await Assert.ThrowsAsync<TrainingCancelledException>(() =>
            Task.Run(() => Pipeline(ml, o => o.CancellationToken = cancel.Token).Fit(data), token));

        Assert.Null(thrown.PartialModel);
        await other.ReleaseAsync();
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}

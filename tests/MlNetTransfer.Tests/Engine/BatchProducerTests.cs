using MlNetTransfer.Engine.Data;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Batches prepared ahead on a background thread: every batch, in order, whatever the depth; a failure
/// surfaces in the consumer; stopping early disposes what was prepared.</summary>
public class BatchProducerTests
{
    public BatchProducerTests() => TorchRuntime.EnsureLoaded();

    static (Tensor X, Tensor Y) Make(int batch) => (tensor(new float[] { batch, batch }), tensor(new long[] { batch }));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Every_batch_arrives_once_in_order_from_the_first_asked(int depth)
    {
        for (int attempt = 0; attempt < 50; attempt++) // the consumer asks at once, before the thread has started
        {
            using var producer = new BatchProducer(Make, 2, 7, depth);
            var seen = new List<long>();
            for (int i = 2; i < 7; i++)
            {
                var (x, y) = producer.Next();
                seen.Add(y.item<long>());
                x.Dispose();
                y.Dispose();
            }
            Assert.Equal([2L, 3, 4, 5, 6], seen);
            Assert.Throws<InvalidOperationException>(() => producer.Next());
        }
    }

    [Fact]
    public void A_failure_while_preparing_reaches_the_consumer_with_its_cause()
    {
        using var producer = new BatchProducer(b => b == 1 ? throw new IOException("disk gone") : Make(b), 0, 3, 2);
        var (x, y) = producer.Next();
        x.Dispose();
        y.Dispose();

        var error = Assert.Throws<InvalidOperationException>(() => producer.Next());
        Assert.Contains("disk gone", error.Message);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public void Stopping_early_disposes_the_batches_prepared_ahead()
    {
        var made = new List<Tensor>();
        var producer = new BatchProducer(b =>
        {
            var batch = Make(b);
            lock (made) made.Add(batch.X);
            return batch;
        }, 0, 10, 3);
        var (x, y) = producer.Next();
        x.Dispose();
        y.Dispose();
        SpinWait.SpinUntil(() => { lock (made) return made.Count >= 4; }, TimeSpan.FromSeconds(10)); // the queue is full

        producer.Dispose();

        lock (made) Assert.All(made, t => Assert.True(t.IsInvalid, "a prepared batch was not disposed"));
    }
}

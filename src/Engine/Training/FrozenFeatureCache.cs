using MlNetTransfer.Runtime;
using TorchSharp;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>The classifier's inputs for every image, computed once when nothing before the classifier trains and
/// augmentation is off: later epochs run the classifier alone. The frozen layers run in eval mode (BatchNorm
/// statistics fixed, dropout off) so the cached features are exactly what they compute.</summary>
internal sealed class FrozenFeatureCache : IDisposable
{
    FrozenFeatureCache(Tensor features, Tensor labels)
    {
        Features = features;
        Labels = labels;
    }

    /// <summary>[N, F] on the training device, in dataset order.</summary>
    public Tensor Features { get; }

    /// <summary>[N] on the training device.</summary>
    public Tensor Labels { get; }

    public static FrozenFeatureCache Build(nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor> head,
        Preprocessing preprocessing, ImageTensorDataset data, int batchSize, Device device, bool channelsLast = false,
        CancellationToken cancellation = default, PhaseProgress? progress = null)
    {
        if (progress != null) progress.Total = data.Count;
        Tensor? features = null, captured = null;
        var hook = head.register_forward_pre_hook((_, input) =>
        {
            // The model's forward may run the classifier inside its own dispose scope: keep the copy out of every scope.
            captured = input.detach().clone().DetachFromDisposeScope();
            return input;
        });
        model.eval();
        AllocatorTuning.BeginPass();
        try
        {
            using var _ = no_grad();
            for (long start = 0; start < data.Count; start += batchSize)
            {
                cancellation.ThrowIfCancellationRequested(); // minutes for large sets at 224 px on a CPU: stay responsive
                using var scope = NewDisposeScope();
                long count = Math.Min(batchSize, data.Count - start);
                var x = data.Slice(start, count).to(device);
                model.call(preprocessing.Normalize(channelsLast ? ChannelsLast.Of(x) : x)); // the model's layout: no reorder per layer
                if (captured is null)
                    throw new InvalidOperationException("the classifier was not called through its hooks; feature caching cannot be used with this model");
                // one [N, F] tensor filled batch by batch: the features once, not a list of batches and their concatenation
                features ??= empty([data.Count, .. captured.shape[1..]], captured.dtype, device).DetachFromDisposeScope();
                features.narrow(0, start, count).copy_(captured);
                captured.Dispose();
                captured = null;
                AllocatorTuning.Trim(); // when the heap has grown: memory flat in the number of images
                progress?.Advance(count);
            }
        }
        catch
        {
            features?.Dispose();
            throw;
        }
        finally
        {
            hook.remove();
            captured?.Dispose();
        }
        return new FrozenFeatureCache(features!, data.Labels.to(device).clone()); // clone: on CPU to() hands back the dataset's own tensor
    }

    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}

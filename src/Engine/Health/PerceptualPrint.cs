using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Health;

/// <summary>A perceptual fingerprint of each image: its grey levels averaged down to 16×16, less their mean, scaled to
/// unit length, so that two prints' dot product is the correlation of the two thumbnails. A resized or re-encoded copy
/// correlates with its original near 1 (the averaging removes the resampling and the JPEG blocks); a 64-bit difference
/// hash, tried first, matched dozens of different Fashion-MNIST garments exactly (their silhouettes are alike at 9×8).</summary>
public static class PerceptualPrint
{
    public const int Side = 16;

    /// <summary>[N, 256] float32 on the CPU.</summary>
    public static Tensor Of(ImageTensorDataset images, int batch = 256)
    {
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < images.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                long count = Math.Min(batch, images.Count - start);
                var rgb = images.Slice(start, count).to_type(ScalarType.Float32);
                var grey = rgb[.., 0].Times(0.299f).Plus(rgb[.., 1].Times(0.587f)).Plus(rgb[.., 2].Times(0.114f)).unsqueeze(1);
                var small = nn.functional.adaptive_avg_pool2d(grey, [Side, Side]).reshape(count, Side * Side);
                var centred = small - small.mean([1], keepdim: true);
                parts.Add(nn.functional.normalize(centred, dim: 1).MoveToOuterDisposeScope());
            }
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// The channels-last (NHWC) memory layout for convolution weights and image batches. libtorch's CPU convolutions
/// (oneDNN) work in NHWC internally, so NCHW tensors are reordered on every convolution call and back; in NHWC
/// they are not. Measured on the 2-core build machine, 128 px, batch 32, training steps: resnet18 82 → 100
/// images/s, mobilenet_v2 118 → 160. Shapes stay [N, C, H, W]; only the strides change, so every operation and
/// state_dict consumer sees the same values.
/// </summary>
public static class ChannelsLast
{
    /// <summary>Whether a run on <paramref name="device"/> uses the layout: on the CPU, unless
    /// <paramref name="requested"/> says otherwise — and not where oneDNN's channels-last convolutions compute wrong
    /// values (<see cref="Runtime.OneDnnGuard.BreaksChannelsLast"/>: on a VM whose cpuid describes no caches, resnet18's
    /// gradients came out 94 % off in NHWC and right to 1e-5 in NCHW).</summary>
    public static bool Applies(bool? requested, Device device) =>
        requested ?? (device.type == DeviceType.CPU && !Runtime.OneDnnGuard.BreaksChannelsLast);

    /// <summary>Rewrites every 4-d parameter of <paramref name="model"/> (the convolution weights) in NHWC order,
    /// in place: the parameters stay the same objects, so optimizers and hooks built later see them.</summary>
    public static void Apply(nn.Module model) => Rewrite(model, Of);

    /// <summary>Undoes <see cref="Apply"/>: standard contiguous (NCHW) weights, as exporters and files expect.</summary>
    public static void Revert(nn.Module model) => Rewrite(model, t => t.contiguous());

    /// <summary>A new tensor with the same [N, C, H, W] shape and values, laid out NHWC.</summary>
    public static Tensor Of(Tensor t)
    {
        if (t.dim() != 4) throw new ArgumentException($"channels-last needs a 4-d tensor, not {t.dim()}-d", nameof(t));
        using var nhwc = t.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }

    /// <summary>Whether <paramref name="t"/> is a 4-d tensor laid out NHWC.</summary>
    public static bool Is(Tensor t)
    {
        if (t.dim() != 4) return false;
        using var nhwc = t.permute(0, 2, 3, 1);
        return nhwc.is_contiguous(); // libtorch ignores the strides of size-1 dimensions here, as 1×1 kernels need
    }

    /// <summary>Lays out the optimizer's per-parameter state (AdamW's moments, SGD's momentum) like the parameters:
    /// channels-last while training, standard to save or load it (TorchSharp writes and reads contiguous tensors only).</summary>
    public static void ApplyToState(OptimizerHelper optimizer) => RewriteState(optimizer, Of);

    /// <inheritdoc cref="ApplyToState"/>
    public static void RevertState(OptimizerHelper optimizer) => RewriteState(optimizer, t => t.contiguous());

    static void RewriteState(OptimizerHelper optimizer, Func<Tensor, Tensor> layout)
    {
        using var _ = no_grad();
        foreach (var state in optimizer.state_dict().State)
        {
            var tensors = state switch
            {
                AdamW.State adamW => [adamW.exp_avg, adamW.exp_avg_sq, adamW.max_exp_avg_sq],
                SGD.State sgd => [sgd.momentum_buffer],
                _ => Array.Empty<Tensor?>(),
            };
            foreach (var t in tensors)
            {
                if (t is null || t.dim() != 4) continue;
                using var laidOut = layout(t);
                t.set_(laidOut);
            }
        }
    }

    static void Rewrite(nn.Module model, Func<Tensor, Tensor> layout)
    {
        using var _ = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            if (parameter.dim() != 4) continue;
            using var detached = parameter.detach();
            using var laidOut = layout(detached);
            parameter.set_(laidOut);
        }
    }
}

using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Explain;

/// <summary>
/// Where the network looks (Grad-CAM, Selvaraju et al. 2017): the feature maps of the last convolutional stage
/// (<see cref="Architecture.CamLayer"/>) weighted by the mean gradient of the class's logit over each map, summed, kept
/// where positive. For a network that averages those maps into a linear classifier (the ResNets, MobileNet) this is the
/// class activation map: each map weighted by its classifier weight.
/// </summary>
public static class GradCam
{
    /// <summary>Maps [N, h, w] at the layer's resolution for <paramref name="images"/> ([N, 3, S, S] bytes, RGB) and one
    /// class each, each scaled so its largest value is 1 (all 0 where nothing argues for the class). The network is
    /// put in eval mode; its weights are not changed.</summary>
    public static Tensor Maps(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing, Tensor images,
        IReadOnlyList<int> classes)
    {
        if (images.dim() != 4 || images.shape[0] != classes.Count)
            throw new ArgumentException($"images must be [N,3,S,S] with one class each; got [{string.Join(",", images.shape)}] and {classes.Count} classes");
        var layer = model.named_modules().FirstOrDefault(m => m.name == architecture.CamLayer).module as nn.Module<Tensor, Tensor>
                    ?? throw new InvalidOperationException($"{architecture.Name}: no module named {architecture.CamLayer}");
        Tensor? activation = null;
        // the network's forward may dispose its intermediates in scopes of its own: the hook keeps a handle outside them
        var hook = layer.register_forward_hook((_, _, output) =>
        {
            activation?.Dispose();
            activation = output.alias().DetachFromDisposeScope();
            return output;
        });
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            var logits = model.forward(preprocessing.Normalize(images));
            var picked = logits.gather(1, tensor(classes.Select(c => (long)c).ToArray(), device: logits.device).unsqueeze(1)).sum();
            var gradient = autograd.grad([picked], [activation!])[0];
            var weights = gradient.mean([2, 3], keepdim: true);
            var cam = nn.functional.relu((weights * activation!).sum(1));
            var top = cam.flatten(1).max(1).values.AtLeast(1e-12).view(-1, 1, 1);
            return (cam / top).detach().MoveToOuterDisposeScope();
        }
        finally
        {
            hook.remove();
            activation?.Dispose();
        }
    }
}

using TorchSharp;

namespace MlNetTransfer.Engine.Devices;

/// <summary>TF32 tensor-core arithmetic for CUDA matrix products and convolutions while a training loop runs (10-bit
/// mantissa inputs, fp32 accumulation: PyTorch's own default for convolutions and what its AMP-free recipes set for
/// matmuls on Ampere and later); the process's previous settings come back on dispose. Scoring, the classifier's
/// solve and ONNX checks keep full fp32.</summary>
internal sealed class Tf32Scope : IDisposable
{
    readonly bool _matmul = torch.backends.cuda.matmul.allow_tf32;
    readonly bool _cudnn = torch.backends.cudnn.allow_tf32;

    public Tf32Scope()
    {
        torch.backends.cuda.matmul.allow_tf32 = true;
        torch.backends.cudnn.allow_tf32 = true;
    }

    public void Dispose()
    {
        torch.backends.cuda.matmul.allow_tf32 = _matmul;
        torch.backends.cudnn.allow_tf32 = _cudnn;
    }
}

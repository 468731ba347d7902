using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>Where predict and evaluate score (--device): the CPU by default, and CUDA refused with the reason where
/// this build's ONNX Runtime cannot give it.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliDeviceTests : CliSandbox
{
    [Fact]
    public void Predict_and_evaluate_score_where_device_says_and_refuse_the_cuda_this_build_cannot_give()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --test {Test} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");

        var (cpuExit, onCpu) = Run($"predict --model {model} --top 1 {Test}");
        var (autoExit, onAuto) = Run($"predict --model {model} --device auto --top 1 {Test}");
        var (cudaExit, cuda) = Run($"predict --model {model} --device cuda {Test}");
        var (evaluateExit, evaluateCuda) = Run($"evaluate --model {model} --data {Path.Combine(_temp.Path, "nowhere")} --device cuda:0");
        var (badExit, bad) = Run($"predict --model {model} --device tpu {Test}");

        Assert.Equal((ExitCodes.Success, ExitCodes.Success), (cpuExit, autoExit));
        Assert.DoesNotContain("scoring on", onCpu); // the default, the CPU, goes unsaid
        Assert.Contains("scoring on cpu: ONNX Runtime's CPU package; CPU", onAuto);
        Assert.Equal(onCpu, string.Join('\n', onAuto.Split('\n').Where(l => !l.StartsWith("scoring on", StringComparison.Ordinal))));
        // this build's ONNX Runtime is the CPU package: CUDA is refused with the reason, not served from the CPU
        Assert.True(cudaExit == ExitCodes.BadOption, cuda);
        Assert.Contains("CPU package, which has no CUDA provider", cuda);
        Assert.DoesNotContain("Bag", cuda); // nothing scored
        // refused before the data is listed (a folder that does not exist would be exit 2)
        Assert.True(evaluateExit == ExitCodes.BadOption, evaluateCuda);
        Assert.True(badExit == ExitCodes.BadOption, bad);
        Assert.Contains("--device must be auto, cpu, cuda or cuda:N, not 'tpu'", bad);
    }
}

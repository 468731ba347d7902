using Microsoft.ML;
using MlNetTransfer.Engine.Devices;
using MlNetTransfer.Engine.Strategies;
using Spectre.Console;

namespace MlNetTransfer.Bench;

/// <summary>The GPU correctness check, runnable on any device: resnet18's whole network fine-tuned from the same seed
/// on this device and on the CPU (their test accuracies side by side: within noise of each other), and each zip
/// scored by ONNX Runtime on the CPU and by TorchSharp on this device (<see cref="Agreement"/>).</summary>
public static class AgreementCheck
{
    public sealed record Trained(string Device, double TestAccuracy, double FitSeconds, Agreement.Result Agreement);

    public static IReadOnlyList<Trained> Run(Options options, string root, IReadOnlyList<ImageRow> train, IReadOnlyList<ImageRow> test,
        string work, DeviceKind deviceKind, TorchSharp.torch.Device device)
    {
        var c = new BenchCase("resnet18 whole network", "resnet18", FineTuneStrategy.RetrainAll, options.Resolution, options.Batch);
        var kinds = deviceKind == DeviceKind.Cpu ? new[] { DeviceKind.Cpu } : [deviceKind, DeviceKind.Cpu];
        var results = new List<Trained>();
        foreach (var kind in kinds)
        {
            var folder = Directory.CreateDirectory(Path.Combine(work, "agreement-" + kind.ToString().ToLowerInvariant())).FullName;
            var fit = EndToEnd.Run(c, root, train, options.Epochs, folder, kind);
            var agreement = Agreement.Measure(fit.ModelPath, root, test, device);
            var trained = new Trained(kind.ToString(), TestAccuracy(fit.ModelPath, root, test), fit.FitSeconds, agreement);
            AnsiConsole.WriteLine($"trained on {kind} ({fit.FitSeconds:0.0} s): test accuracy {trained.TestAccuracy:P1}; ONNX Runtime (CPU) against " +
                                  $"TorchSharp ({agreement.Device}): {agreement.SameClass}/{agreement.Images} same class, largest score difference " +
                                  $"{agreement.MaxScoreDifference:0.0e0} — {(agreement.Agrees ? "agree" : "DISAGREE")} (≤ {Agreement.Tolerance:0e0})");
            results.Add(trained);
        }
        return results;
    }

    static double TestAccuracy(string zip, string root, IReadOnlyList<ImageRow> test)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(zip, out _);
        try
        {
            return ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(ImageRow.Under(root, test)))).MicroAccuracy;
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }
}

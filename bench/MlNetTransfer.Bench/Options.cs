namespace MlNetTransfer.Bench;

/// <summary>Command-line options of the benchmark.</summary>
public sealed record Options(int Resolution, int Batch, int Steps, int Epochs, string Out, bool Peer, string Device, int Repeat, string[] Cases,
    int MemoryEpochs, bool Agreement, bool Scoring = false, bool Profile = false)
{
    public static Options Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var device = Value("--device", "cpu");
        if (device is not ("cpu" or "cuda"))
            throw new ArgumentException($"--device must be cpu or cuda, not '{device}'");
        return new Options(int.Parse(Value("--res", "128")), int.Parse(Value("--batch", "32")), int.Parse(Value("--steps", "10")),
            int.Parse(Value("--epochs", "4")), Value("--out", "bench/results/speed.json"), !args.Contains("--no-peer"), device,
            int.Parse(Value("--repeat", "1")), Value("--cases", "alexnet,resnet18,mobilenet_v2").Split(','), int.Parse(Value("--memory-epochs", "0")),
            args.Contains("--agreement"), args.Contains("--scoring"), args.Contains("--profile"));
    }
}

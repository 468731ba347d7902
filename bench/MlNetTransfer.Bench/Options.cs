namespace MlNetTransfer.Bench;

/// <summary>Command-line options of the benchmark.</summary>
public sealed record Options(int Resolution, int Batch, int Steps, int Epochs, string Out, bool Peer)
{
    public static Options Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        return new Options(int.Parse(Value("--res", "128")), int.Parse(Value("--batch", "32")), int.Parse(Value("--steps", "10")),
            int.Parse(Value("--epochs", "3")), Value("--out", "bench/results.json"), !args.Contains("--no-peer"));
    }
}

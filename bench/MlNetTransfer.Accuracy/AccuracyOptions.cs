namespace MlNetTransfer.Accuracy;

/// <summary>Command-line options of the accuracy benchmark.</summary>
public sealed record AccuracyOptions(string[] Sets, int[] FashionSizes, int[] IconSizes, int[] PhotoSizes, string[] Cases, int DeepStrategiesUpTo,
    int Seed, string DataRoot, string Out, string Device)
{
    public static readonly string[] AllCases = ["default", "mlnet", "HeadOnly", "InitialLayers", "LastLayers", "WholeNetwork", "RetrainAll"];

    public static AccuracyOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        int[] Sizes(string name, string fallback) => Value(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var cases = Value("--cases", string.Join(',', AllCases)).Split(',');
        var unknown = cases.Except(AllCases).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"--cases: unknown {string.Join(", ", unknown)}; known: {string.Join(", ", AllCases)}");
        var cache = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "mlnettransfer-accuracy");
        return new AccuracyOptions(Value("--sets", "fashion-mnist,icons").Split(','), Sizes("--fashion-sizes", "400,2000,10000"),
            Sizes("--icon-sizes", "400,2000"), Sizes("--photo-sizes", "400"), cases, int.Parse(Value("--deep-strategies-up-to", "2000")), int.Parse(Value("--seed", "1")),
            Value("--data-dir", cache), Value("--out", "bench/accuracy.json"), Value("--device", "auto"));
    }
}

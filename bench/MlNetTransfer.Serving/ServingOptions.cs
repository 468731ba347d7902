using System.Globalization;

namespace MlNetTransfer.Serving;

public sealed record ServingOptions(int Side, double Seconds, string? Images, string? Out, string? Model = null, int Soak = 0)
{
    public static ServingOptions Parse(string[] args)
    {
        var options = new ServingOptions(224, 15, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--side" => options with { Side = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--seconds" => options with { Seconds = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--images" => options with { Images = Path.GetFullPath(Value()) },
                "--out" => options with { Out = Path.GetFullPath(Value()) },
                "--model" => options with { Model = Path.GetFullPath(Value()) },
                "--soak" => options with { Soak = int.Parse(Value(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]} (--side, --seconds, --images, --out, --model, --soak)"),
            };
        }
        return options;
    }
}

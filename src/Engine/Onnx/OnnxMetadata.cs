using System.Text.Json;
using MlNetTransfer.Engine.Weights;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>What an exported model says about itself, so it can be the starting point of further training:
/// architecture, class names in index order, the preprocessing of its weights, and whether its Score averages each
/// image with its mirror image, the temperature its Score is calibrated with, and — for a model that flags unfamiliar
/// images — the rule it flags them by, in words (<see cref="Recipe.Familiarity.Describe"/>; null otherwise).</summary>
public sealed record OnnxMetadata(string Architecture, IReadOnlyList<string> ClassNames, Preprocessing Preprocessing, bool TestTimeFlip = false,
    double Temperature = 1, string? Unfamiliar = null)
{
    const string ArchitectureKey = "mlnettransfer.architecture";
    const string ClassesKey = "mlnettransfer.classes";
    const string PreprocessingKey = "mlnettransfer.preprocessing";
    // The weights' own mean image at its own size (base64 float32), so training can continue at another input size.
    // Metadata rather than an initializer: ONNX Runtime warns about initializers no node uses.
    const string MeanImageKey = "mlnettransfer.mean_image";
    const string TestTimeFlipKey = "mlnettransfer.test_time_flip";
    const string TemperatureKey = "mlnettransfer.temperature";
    const string UnfamiliarKey = "mlnettransfer.unfamiliar";

    sealed record PreprocessingDto(int InputSize, ChannelOrder ChannelOrder, float PixelScale, float[] Mean, float[] Std, int MeanImageSize);

    internal static void Write(OnnxModelBuilder onnx, string architecture, IReadOnlyList<string> classNames, Preprocessing p, bool testTimeFlip = false,
        double temperature = 1, string? unfamiliar = null)
    {
        if (unfamiliar != null) onnx.Metadata(UnfamiliarKey, unfamiliar);
        if (testTimeFlip) onnx.Metadata(TestTimeFlipKey, "true");
        if (temperature != 1) onnx.Metadata(TemperatureKey, temperature.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        onnx.Metadata(ArchitectureKey, architecture);
        onnx.Metadata(ClassesKey, JsonSerializer.Serialize(classNames));
        onnx.Metadata(PreprocessingKey, JsonSerializer.Serialize(
            new PreprocessingDto(p.InputSize, p.ChannelOrder, p.PixelScale, p.Mean, p.Std, p.MeanImage == null ? 0 : p.MeanImageSize)));
        if (p.MeanImage != null)
            onnx.Metadata(MeanImageKey, Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.MeanImage.AsSpan())));
    }

    /// <summary>Reads the metadata of a model this project exported; throws naming <paramref name="source"/> otherwise.</summary>
    public static OnnxMetadata Read(OnnxGraph graph, string source)
    {
        if (!graph.Metadata.TryGetValue(ArchitectureKey, out var architecture)
            || !graph.Metadata.TryGetValue(ClassesKey, out var classes)
            || !graph.Metadata.TryGetValue(PreprocessingKey, out var preprocessing))
            throw new InvalidDataException($"{source} was not exported by MlNetTransfer (no {ArchitectureKey} metadata), so training cannot continue from it.");
        var dto = JsonSerializer.Deserialize<PreprocessingDto>(preprocessing)
                  ?? throw new InvalidDataException($"{source}: unreadable {PreprocessingKey}");
        float[]? meanImage = null;
        if (dto.MeanImageSize > 0)
            meanImage = graph.Metadata.TryGetValue(MeanImageKey, out var encoded)
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(encoded)).ToArray()
                : throw new InvalidDataException($"{source}: the mean image of its preprocessing is missing");
        var names = JsonSerializer.Deserialize<string[]>(classes) ?? throw new InvalidDataException($"{source}: unreadable {ClassesKey}");
        return new OnnxMetadata(architecture, names,
            new Preprocessing(dto.InputSize, dto.ChannelOrder, dto.PixelScale, dto.Mean, dto.Std, meanImage, dto.MeanImageSize),
            graph.Metadata.TryGetValue(TestTimeFlipKey, out var flip) && flip == "true",
            graph.Metadata.TryGetValue(TemperatureKey, out var t) && double.TryParse(t, System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var temperature) ? temperature : 1,
            graph.Metadata.GetValueOrDefault(UnfamiliarKey));
    }
}

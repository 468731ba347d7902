using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>How every JSON the CLI writes for its users is spelt — metrics.json, <c>evaluate --json</c>, <c>check
/// --json</c>, <c>info --json</c>: camelCase names at every depth (the records inside as much as the document around
/// them; class names and other dictionary keys as they are), enums by name, a diverged epoch's NaN as "NaN", and text
/// unescaped beyond what JSON needs.</summary>
internal static class CliJson
{
    public static JsonSerializerOptions Indented { get; } = Options(indented: true);

    /// <summary>One line: <c>evaluate --json -</c> writes it to standard output.</summary>
    public static JsonSerializerOptions Compact { get; } = Options(indented: false);

    static JsonSerializerOptions Options(bool indented) => new()
    {
        WriteIndented = indented,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

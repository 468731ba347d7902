using System.Reflection;

namespace MlNetTransfer.Runtime;

/// <summary>This project's version, as the CLI, metrics.json and the exported network's producer say it.</summary>
public static class ProductInfo
{
    /// <summary>The assemblies' informational version, without a source revision (every project shares it).</summary>
    public static string Version { get; } = InformationalVersion(typeof(ProductInfo).Assembly);

    /// <summary>An assembly's informational version (else its version) without the "+revision" suffix.</summary>
    public static string InformationalVersion(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString() ?? "unknown";
        return version.Split('+')[0];
    }
}

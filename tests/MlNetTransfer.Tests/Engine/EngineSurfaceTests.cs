using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using MlNetTransfer.Cli;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Tests;

/// <summary>The layers are the compiler's and the documentation's: the engine grants the ML.NET adapter and the CLI no
/// internals, and what they use of it is the public surface docs/engine.md lists.</summary>
public class EngineSurfaceTests
{
    static readonly Assembly Engine = typeof(MlNetTransfer.Engine.Recipe.TransferRecipe).Assembly;

    [Fact]
    public void The_engine_grants_its_internals_to_neither_the_adapter_nor_the_cli()
    {
        var granted = Engine.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName).ToList();
        Assert.DoesNotContain(typeof(TransferTrainEstimator).Assembly.GetName().Name, granted);
        Assert.DoesNotContain(typeof(CliApp).Assembly.GetName().Name, granted);
    }

    [Theory]
    [InlineData(typeof(TransferTrainEstimator))]
    [InlineData(typeof(CliApp))]
    public void Every_engine_type_the_adapter_and_the_cli_use_is_on_the_documented_surface(Type inAssembly)
    {
        var documented = DocumentedSurface();
        var used = EngineTypesReferencedBy(inAssembly.Assembly);

        Assert.NotEmpty(used); // the reader found the references (both layers build on the engine)
        var undocumented = used.Where(t => !documented.Contains(t)).ToList();
        Assert.True(undocumented.Count == 0,
            $"{inAssembly.Assembly.GetName().Name} uses engine types docs/engine.md's 'Public surface' does not list: {string.Join(", ", undocumented)}");
    }

    [Fact]
    public void Every_documented_type_is_a_public_engine_type()
    {
        var publicTypes = Engine.GetExportedTypes().Select(t => t.Name).ToHashSet();
        var missing = DocumentedSurface().Where(name => !publicTypes.Contains(name)).ToList();
        Assert.True(missing.Count == 0, $"docs/engine.md lists what the engine does not export: {string.Join(", ", missing)}");
    }

    /// <summary>The type names in backquotes in docs/engine.md's "Public surface" section (namespaces and members,
    /// which hold a dot or open with a capital-less word, are left out).</summary>
    static HashSet<string> DocumentedSurface()
    {
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "engine.md"));
        var section = Regex.Match(doc, @"^## Public surface\n(?<body>.*?)^## ", RegexOptions.Singleline | RegexOptions.Multiline).Groups["body"].Value;
        Assert.False(string.IsNullOrEmpty(section), "docs/engine.md has no 'Public surface' section");
        return Regex.Matches(section, @"`(?<name>[A-Z][A-Za-z0-9]*)`").Select(m => m.Groups["name"].Value).ToHashSet();
    }

    /// <summary>The simple names of the engine's types an assembly's metadata refers to (nested types by their outer type).</summary>
    static SortedSet<string> EngineTypesReferencedBy(Assembly assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        var metadata = pe.GetMetadataReader();
        string engineName = Engine.GetName().Name!;
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var handle in metadata.TypeReferences)
        {
            var type = metadata.GetTypeReference(handle);
            while (type.ResolutionScope.Kind == HandleKind.TypeReference)
                type = metadata.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
            if (type.ResolutionScope.Kind != HandleKind.AssemblyReference) continue;
            var reference = metadata.GetAssemblyReference((AssemblyReferenceHandle)type.ResolutionScope);
            if (metadata.GetString(reference.Name) == engineName)
                names.Add(metadata.GetString(type.Name));
        }
        return names;
    }
}

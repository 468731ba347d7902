namespace MlNetTransfer.Tests;

/// <summary>Tests that run MSBuild on this repository's own projects (`dotnet pack` of the solution, a file-based app
/// with `#:project` to src/Estimators) take turns: each restore rewrites the projects' obj/project.assets.json, and a
/// pack that reads it while another restore writes it packs the wrong dependencies.</summary>
[CollectionDefinition(Name)]
public sealed class SourceTreeBuildCollection
{
    public const string Name = "builds of this repository's projects";
}

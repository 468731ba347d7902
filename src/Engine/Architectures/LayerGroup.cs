namespace MlNetTransfer.Engine.Architectures;

/// <summary>A named run of layers, from low-level to head, that freezes, unfreezes and gets a learning rate as one
/// unit. A parameter belongs to the group whose prefix (a state_dict key prefix such as <c>layer1</c> or
/// <c>features.3</c>) it starts with.</summary>
public sealed record LayerGroup(string Name, IReadOnlyList<string> Prefixes)
{
    public bool Contains(string parameterName) =>
        Prefixes.Any(p => parameterName == p || parameterName.StartsWith(p + ".", StringComparison.Ordinal));
}

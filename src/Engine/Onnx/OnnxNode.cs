namespace MlNetTransfer.Engine.Onnx;

/// <summary>One ONNX graph node with the attributes the importers read.</summary>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    public long[] Ints(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : [];
    public float Float(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.Float : fallback;
    public long Int(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.Int : fallback;
}

/// <summary>An ONNX node attribute (only the kinds the importers use).</summary>
public sealed record OnnxAttribute(string Name, float Float, long Int, string? String, long[] Ints, float[] Floats, OnnxTensor? Tensor);

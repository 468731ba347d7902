using System.Runtime.InteropServices;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>Builds an ONNX ModelProto (IR 7, opset 13) node by node: float and int64 initializers, typed graph
/// inputs and outputs with fixed or symbolic dimensions.</summary>
internal sealed class OnnxModelBuilder
{
    public const int Opset = 13;
    const int IrVersion = 7, TensorFloat = 1, TensorInt64 = 7;
    const int AttrFloat = 1, AttrInt = 2, AttrInts = 7;

    /// <summary>Initializers that are not network parameters (preprocessing, pooling matrices) carry this prefix;
    /// every other initializer is named by its state_dict key, so the file doubles as a weights file.</summary>
    public const string ConstantPrefix = "const:";

    public static string Constant(string name) => ConstantPrefix + name;

    readonly ProtoWriter _graph = new();
    readonly List<(string Key, string Value)> _metadata = [];
    readonly HashSet<string> _names = [];
    int _counter;

    public OnnxModelBuilder(string graphName) => _graph.String(2, graphName);

    /// <summary>A fresh value name with <paramref name="hint"/> in it.</summary>
    public string Name(string hint)
    {
        var name = $"{hint}_{_counter++}";
        _names.Add(name);
        return name;
    }

    public string Initializer(string name, float[] data, params long[] dims) => FloatInitializer(name, MemoryMarshal.AsBytes(data.AsSpan()), dims);

    /// <summary>A float initializer from raw little-endian bytes (a tensor's own memory, without a copy to float[]).</summary>
    public string FloatInitializer(string name, ReadOnlySpan<byte> raw, long[] dims)
    {
        _graph.Message(5, TensorHeader(name, dims, TensorFloat).Bytes(9, raw));
        return name;
    }

    /// <summary>A float initializer over native memory (a tensor's), referred to, not copied: it must stay valid
    /// until <see cref="Build"/> has returned.</summary>
    public string FloatInitializer(string name, IntPtr raw, int length, long[] dims)
    {
        _graph.Message(5, TensorHeader(name, dims, TensorFloat).NativeBytes(9, raw, length));
        return name;
    }

    public string Initializer(string name, long[] data, params long[] dims)
    {
        _graph.Message(5, TensorHeader(name, dims, TensorInt64).Bytes(9, MemoryMarshal.AsBytes(data.AsSpan())));
        return name;
    }

    /// <summary>A TensorProto's dims, data type and name; its raw data (field 9) follows.</summary>
    static ProtoWriter TensorHeader(string name, long[] dims, int dataType)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims) tensor.Varint(1, d);
        return tensor.Varint(2, dataType).String(8, name);
    }

    /// <summary>Adds a node; attributes are (name, value) with value a long, float or long[].</summary>
    public string Node(string opType, string[] inputs, string? output = null, params (string Name, object Value)[] attributes) =>
        NodeOutputs(opType, inputs, [output ?? Name(opType.ToLowerInvariant())], attributes)[0];

    /// <summary>Adds a node of several outputs (TopK's values and indices), named as given.</summary>
    public string[] NodeOutputs(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs) node.String(1, input);
        foreach (var output in outputs) node.String(2, output);
        node.String(3, outputs[0] + "_node").String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var attribute = new ProtoWriter().String(1, name);
            switch (value)
            {
                case long i: attribute.Varint(3, i).Varint(20, AttrInt); break;
                case int i: attribute.Varint(3, i).Varint(20, AttrInt); break;
                case float f: attribute.Float(2, f).Varint(20, AttrFloat); break;
                case double d: attribute.Float(2, (float)d).Varint(20, AttrFloat); break;
                case long[] ints:
                    foreach (var i in ints) attribute.Varint(8, i);
                    attribute.Varint(20, AttrInts);
                    break;
                default: throw new ArgumentException($"unsupported attribute type {value.GetType()} for {name}");
            }
            node.Message(5, attribute);
        }
        _graph.Message(1, node);
        return outputs;
    }

    /// <summary>A graph input or output; a null dimension is symbolic (named <paramref name="symbol"/>).</summary>
    public void Value(bool isInput, string name, bool isFloat, long?[] dims, string symbol = "batch")
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is long value) dim.Varint(1, value); else dim.String(2, symbol);
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter().Varint(1, isFloat ? TensorFloat : TensorInt64).Message(2, shape);
        var type = new ProtoWriter().Message(1, tensorType);
        _graph.Message(isInput ? 11 : 12, new ProtoWriter().String(1, name).Message(2, type));
    }

    /// <summary>A metadata_props entry of the model.</summary>
    public void Metadata(string key, string value) => _metadata.Add((key, value));

    public byte[] Build(string producer, string producerVersion)
    {
        var opset = new ProtoWriter().String(1, "").Varint(2, Opset);
        var model = new ProtoWriter()
            .Varint(1, IrVersion)
            .String(2, producer)
            .String(3, producerVersion)
            .Message(7, _graph)
            .Message(8, opset);
        foreach (var (key, value) in _metadata)
            model.Message(14, new ProtoWriter().String(1, key).String(2, value));
        return model.ToArray();
    }
}

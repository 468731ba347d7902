using System.Runtime.InteropServices;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>The parts of an ONNX ModelProto that weight import needs: nodes in order, initializers by name, graph
/// inputs and outputs, opset.</summary>
public sealed class OnnxGraph
{
    OnnxGraph(List<OnnxNode> nodes, Dictionary<string, OnnxTensor> initializers, List<string> inputs, List<string> outputs, long opset,
        Dictionary<string, string> metadata)
    {
        Nodes = nodes; Initializers = initializers; Inputs = inputs; Outputs = outputs; Opset = opset; Metadata = metadata;
    }

    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyList<OnnxNode> Nodes { get; }
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>The initializers that are network parameters, named by their state_dict keys (a model this product
    /// wrote doubles as a weights file); the emitter's constants (preprocessing, pooling matrices) are left out.</summary>
    public IEnumerable<OnnxTensor> Weights =>
        Initializers.Values.Where(t => !t.Name.StartsWith(OnnxModelBuilder.ConstantPrefix, StringComparison.Ordinal));
    public IReadOnlyList<string> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }
    public long Opset { get; }

    public static OnnxGraph Load(string path)
    {
        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path} is not a readable ONNX model: {e.Message}", e);
        }
    }

    /// <summary>Parses a ModelProto; with <paramref name="metadataOnly"/>, its graph is skipped unread (no nodes, no
    /// initializers: a 45 MB network's metadata in milliseconds).</summary>
    public static OnnxGraph Parse(ReadOnlySpan<byte> model, bool metadataOnly = false)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxTensor>();
        var inputs = new List<string>();
        var outputs = new List<string>();
        long opset = 0;
        bool sawGraph = false;
        var metadata = new Dictionary<string, string>();
        var reader = new ProtoReader(model);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 7 && wire == 2 && metadataOnly)
            {
                sawGraph = true;
                reader.Skip(wire);
            }
            else if (field == 7 && wire == 2)
            {
                sawGraph = true;
                var graph = new ProtoReader(reader.ReadBytes());
                while (!graph.End)
                {
                    var (f, w) = graph.ReadTag();
                    switch (f)
                    {
                        case 1 when w == 2: nodes.Add(ReadNode(graph.ReadBytes())); break;
                        case 5 when w == 2: var t = ReadTensor(graph.ReadBytes()); initializers[t.Name] = t; break;
                        case 11 when w == 2: inputs.Add(ReadValueInfoName(graph.ReadBytes())); break;
                        case 12 when w == 2: outputs.Add(ReadValueInfoName(graph.ReadBytes())); break;
                        default: graph.Skip(w); break;
                    }
                }
            }
            else if (field == 8 && wire == 2)
            {
                var import = new ProtoReader(reader.ReadBytes());
                string domain = "";
                long version = 0;
                while (!import.End)
                {
                    var (f, w) = import.ReadTag();
                    if (f == 1 && w == 2) domain = import.ReadString();
                    else if (f == 2 && w == 0) version = (long)import.ReadVarint();
                    else import.Skip(w);
                }
                if (domain is "" or "ai.onnx") opset = version;
            }
            else if (field == 14 && wire == 2)
            {
                var entry = new ProtoReader(reader.ReadBytes());
                string key = "", value = "";
                while (!entry.End)
                {
                    var (f, w) = entry.ReadTag();
                    if (f == 1 && w == 2) key = entry.ReadString();
                    else if (f == 2 && w == 2) value = entry.ReadString();
                    else entry.Skip(w);
                }
                metadata[key] = value;
            }
            else reader.Skip(wire);
        }
        if (!sawGraph) throw new InvalidDataException("no graph in the model");
        return new OnnxGraph(nodes, initializers, inputs.Where(i => !initializers.ContainsKey(i)).ToList(), outputs, opset, metadata);
    }

    static OnnxNode ReadNode(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>();
        string name = "", opType = "";
        while (!reader.End)
        {
            var (f, w) = reader.ReadTag();
            switch (f)
            {
                case 1: inputs.Add(reader.ReadString()); break;
                case 2: outputs.Add(reader.ReadString()); break;
                case 3: name = reader.ReadString(); break;
                case 4: opType = reader.ReadString(); break;
                case 5: var a = ReadAttribute(reader.ReadBytes()); attributes[a.Name] = a; break;
                default: reader.Skip(w); break;
            }
        }
        return new OnnxNode(name, opType, inputs, outputs, attributes);
    }

    static OnnxAttribute ReadAttribute(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        string name = "";
        string? text = null;
        float single = 0;
        long integer = 0;
        var ints = new List<long>();
        var floats = new List<float>();
        OnnxTensor? tensor = null;
        while (!reader.End)
        {
            var (f, w) = reader.ReadTag();
            switch (f)
            {
                case 1: name = reader.ReadString(); break;
                case 2 when w == 5: single = reader.ReadFloat(); break;
                case 3 when w == 0: integer = (long)reader.ReadVarint(); break;
                case 4 when w == 2: text = reader.ReadString(); break;
                case 5 when w == 2: tensor = ReadTensor(reader.ReadBytes()); break;
                case 7 when w == 5: floats.Add(reader.ReadFloat()); break;
                case 7 when w == 2: floats.AddRange(MemoryMarshal.Cast<byte, float>(reader.ReadBytes()).ToArray()); break;
                case 8 when w == 0: ints.Add((long)reader.ReadVarint()); break;
                case 8 when w == 2: var packed = new ProtoReader(reader.ReadBytes()); while (!packed.End) ints.Add((long)packed.ReadVarint()); break;
                default: reader.Skip(w); break;
            }
        }
        return new OnnxAttribute(name, single, integer, text, ints.ToArray(), floats.ToArray(), tensor);
    }

    static OnnxTensor ReadTensor(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        var dims = new List<long>();
        var floats = new List<float>();
        var longs = new List<long>();
        int dataType = 0;
        string name = "";
        ReadOnlySpan<byte> raw = default;
        while (!reader.End)
        {
            var (f, w) = reader.ReadTag();
            switch (f)
            {
                case 1 when w == 0: dims.Add((long)reader.ReadVarint()); break;
                case 1 when w == 2: var packed = new ProtoReader(reader.ReadBytes()); while (!packed.End) dims.Add((long)packed.ReadVarint()); break;
                case 2: dataType = (int)reader.ReadVarint(); break;
                case 4 when w == 2: floats.AddRange(MemoryMarshal.Cast<byte, float>(reader.ReadBytes()).ToArray()); break;
                case 4 when w == 5: floats.Add(reader.ReadFloat()); break;
                case 7 when w == 2: var p = new ProtoReader(reader.ReadBytes()); while (!p.End) longs.Add((long)p.ReadVarint()); break;
                case 7 when w == 0: longs.Add((long)reader.ReadVarint()); break;
                case 8: name = reader.ReadString(); break;
                case 9: raw = reader.ReadBytes(); break;
                default: reader.Skip(w); break;
            }
        }
        if (!raw.IsEmpty)
        {
            if (dataType == OnnxTensor.Float) floats.AddRange(MemoryMarshal.Cast<byte, float>(raw).ToArray());
            else if (dataType == OnnxTensor.Int64) longs.AddRange(MemoryMarshal.Cast<byte, long>(raw).ToArray());
        }
        return new OnnxTensor(name, dims.ToArray(), dataType, floats.ToArray(), longs.ToArray());
    }

    static string ReadValueInfoName(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        while (!reader.End)
        {
            var (f, w) = reader.ReadTag();
            if (f == 1 && w == 2) return reader.ReadString();
            reader.Skip(w);
        }
        return "";
    }
}

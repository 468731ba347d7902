using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Reads a state dict (name → tensor) from the files people have: PyTorch <c>torch.save(state_dict)</c>
/// (.pth/.pt/.bin), safetensors, TorchSharp's own <c>Module.save</c> format (.dat), and ONNX files whose initializers
/// carry the state_dict names (this project's export; <c>torch.onnx.export(..., training=TrainingMode.PRESERVE,
/// do_constant_folding=False)</c>). The caller owns the tensors.</summary>
public static class StateDictFile
{
    public static readonly IReadOnlyList<string> Extensions = [".pth", ".pt", ".bin", ".safetensors", ".dat", ".onnx"];

    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file {path} does not exist.", path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(extension))
            throw new ArgumentException(
                $"Weights file {path}: unknown extension '{extension}'. Expected one of {string.Join(", ", Extensions)} " +
                "(PyTorch state dict, safetensors, TorchSharp .dat, ONNX).", nameof(path));
        try
        {
            return extension switch
            {
                ".pth" or ".pt" or ".bin" => ReadPyTorch(path),
                ".safetensors" => ReadSafetensors(path),
                ".dat" => ReadTorchSharp(path),
                _ => ReadOnnxInitializers(path),
            };
        }
        catch (Exception e) when (e is not WeightsFileException)
        {
            // whatever the reader threw (format errors, overflows, out-of-range lengths): one kind, the file and the format named
            // libtorch's messages carry its C++ stack after the first line
            throw new WeightsFileException($"{path}: not {Expected(extension)} ({e.GetBaseException().Message.Split('\n')[0].Trim()})", e);
        }
    }

    static string Expected(string extension) => extension switch
    {
        ".pth" or ".pt" or ".bin" => "a PyTorch state dict (torch.save(model.state_dict(), path))",
        ".safetensors" => "a safetensors file",
        ".dat" => "a TorchSharp Module.save file",
        _ => "an ONNX model with named initializers",
    };

    /// <summary>safetensors: an 8-byte little-endian header length, a JSON header of that length, then the data.
    /// Every tensor's shape × dtype is checked against its byte span before anything is allocated: a header that
    /// claims [100000, 100000] F32 over 16 bytes would otherwise make libtorch allocate 40 GB (or abort).</summary>
    static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        long length = new FileInfo(path).Length;
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            if (length < 8) throw new WeightsFileException($"{path}: not a safetensors file ({length} bytes; the header length alone takes 8)");
            ulong header = reader.ReadUInt64();
            if (header > (ulong)(length - 8) || header < 2)
                throw new WeightsFileException($"{path}: not a safetensors file (header length {header:g3} in a file of {length} bytes)");
            var json = reader.ReadBytes((int)header);
            if (json[0] != (byte)'{')
                throw new WeightsFileException($"{path}: not a safetensors file (the header is not JSON)");
            CheckSafetensorsSpans(path, json, length - 8 - (long)header);
        }
        return Safetensors.LoadStateDict(path);
    }

    static readonly Dictionary<string, int> SafetensorsDtypeBytes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
    };

    static void CheckSafetensorsSpans(string path, byte[] json, long dataBytes)
    {
        System.Text.Json.JsonDocument header;
        try
        {
            header = System.Text.Json.JsonDocument.Parse(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new WeightsFileException($"{path}: not a safetensors file (its header is not valid JSON: {e.Message})");
        }
        using (header)
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") continue;
                string Bad(string why) => $"{path}: tensor '{entry.Name}' {why}; the file is damaged or not what it claims, nothing was loaded";
                try
                {
                    var dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
                    if (!SafetensorsDtypeBytes.TryGetValue(dtype, out int size)) throw new WeightsFileException(Bad($"has dtype '{dtype}', which this reader does not take"));
                    var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                    if (shape.Any(d => d < 0) || offsets.Length != 2) throw new WeightsFileException(Bad("has a negative dimension or no [begin, end] data offsets"));
                    System.Numerics.BigInteger claimed = size;
                    foreach (var d in shape) claimed *= d;
                    var (begin, end) = (offsets[0], offsets[1]);
                    if (begin < 0 || end < begin || end > dataBytes)
                        throw new WeightsFileException(Bad($"spans bytes {begin} to {end} of a data section of {dataBytes}"));
                    if (claimed != end - begin)
                        throw new WeightsFileException(Bad($"claims [{string.Join(", ", shape)}] {dtype} ({claimed} bytes) over a span of {end - begin} bytes"));
                }
                catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
                {
                    throw new WeightsFileException(Bad($"has no readable dtype, shape or data_offsets ({e.Message})"));
                }
            }
    }

    /// <summary>A torch.save zip: its pickle's claims checked against its archive first (<see cref="TorchCheckpointClaims"/>),
    /// then read by TorchSharp.PyBridge, which allocates what they say.</summary>
    static Dictionary<string, Tensor> ReadPyTorch(string path)
    {
        if (TorchCheckpointClaims.Problem(path) is { } problem)
            throw new WeightsFileException($"{path}: {problem}; the file is damaged or not what it claims, nothing was loaded");
        return FromHashtable(PyTorchUnpickler.UnpickleStateDict(path));
    }

    static Dictionary<string, Tensor> FromHashtable(Hashtable table)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Value is not Tensor tensor)
                throw new InvalidDataException($"entry {entry.Key} is not a tensor; save the state_dict (torch.save(model.state_dict(), path)), not the whole model");
            result[(string)entry.Key] = tensor;
        }
        return result;
    }

    static Dictionary<string, Tensor> ReadOnnxInitializers(string path) => FromOnnx(Onnx.OnnxGraph.Load(path));

    /// <summary>An ONNX model's weights as a state dict (a model this product wrote names its initializers by their
    /// state_dict keys): float and int64 initializers, the emitter's constants left out. The caller disposes the tensors.</summary>
    public static Dictionary<string, Tensor> FromOnnx(Onnx.OnnxGraph graph) =>
        graph.Weights
            .Where(t => t.DataType is Onnx.OnnxTensor.Float or Onnx.OnnxTensor.Int64)
            .ToDictionary(t => t.Name, t => t.DataType == Onnx.OnnxTensor.Float ? tensor(t.Floats, t.Dims) : tensor(t.Longs, t.Dims)); // shaped as made: no 1-D tensor left behind under a view

    // TorchSharp's Module.save: LEB128 count, then per entry a .NET string key and a tensor
    // (LEB128 dtype, LEB128 rank, LEB128 dims, raw little-endian data).
    static Dictionary<string, Tensor> ReadTorchSharp(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        long count = Leb128(reader), length = reader.BaseStream.Length;
        if (count < 0 || count > length) throw new InvalidDataException($"{count} entries announced in {length} bytes");
        var result = new Dictionary<string, Tensor>();
        for (long i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            var dtype = (ScalarType)Leb128(reader);
            long rank = Leb128(reader);
            if (rank > 16) throw new InvalidDataException($"{key}: a tensor of {rank} dimensions");
            var shape = new long[rank];
            for (int d = 0; d < shape.Length; d++) shape[d] = Leb128(reader);
            // the size the entry claims, checked against what is left of the file before anything is allocated
            System.Numerics.BigInteger claimed = ElementBytes(dtype, key);
            foreach (var d in shape) claimed *= d;
            if (claimed > length - reader.BaseStream.Position)
                throw new InvalidDataException($"{key}: [{string.Join(", ", shape)}] {dtype} claims {claimed} bytes, and {length - reader.BaseStream.Position} are left in the file");
            var tensor = empty(shape, dtype);
            long bytes = tensor.numel() * tensor.ElementSize;
            var data = reader.ReadBytes(checked((int)bytes));
            if (data.Length != bytes) throw new InvalidDataException($"{key}: file ends inside the tensor data");
            tensor.bytes = data;
            result[key] = tensor;
        }
        if (reader.BaseStream.Position != length)
            throw new InvalidDataException($"{length - reader.BaseStream.Position} bytes follow the {count} entries it announces");
        return result;
    }

    static int ElementBytes(ScalarType dtype, string key) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new InvalidDataException($"{key}: dtype {(int)dtype} is not one a state dict holds"),
    };

    static long Leb128(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 63) throw new InvalidDataException("malformed length field");
            long b = reader.ReadByte();
            result |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }
}

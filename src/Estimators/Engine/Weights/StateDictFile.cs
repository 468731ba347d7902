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
                ".pth" or ".pt" or ".bin" => FromHashtable(PyTorchUnpickler.UnpickleStateDict(path)),
                ".safetensors" => ReadSafetensors(path),
                ".dat" => ReadTorchSharp(path),
                _ => ReadOnnxInitializers(path),
            };
        }
        catch (Exception e) when (e is not WeightsFileException)
        {
            // whatever the reader threw (format errors, overflows, out-of-range lengths): one kind, the file and the format named
            throw new WeightsFileException($"{path}: not {Expected(extension)} ({e.GetBaseException().Message})", e);
        }
    }

    static string Expected(string extension) => extension switch
    {
        ".pth" or ".pt" or ".bin" => "a PyTorch state dict (torch.save(model.state_dict(), path))",
        ".safetensors" => "a safetensors file",
        ".dat" => "a TorchSharp Module.save file",
        _ => "an ONNX model with named initializers",
    };

    /// <summary>safetensors: an 8-byte little-endian header length, a JSON header of that length, then the data.</summary>
    static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        long length = new FileInfo(path).Length;
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            if (length < 8) throw new WeightsFileException($"{path}: not a safetensors file ({length} bytes; the header length alone takes 8)");
            ulong header = reader.ReadUInt64();
            if (header > (ulong)(length - 8) || header < 2)
                throw new WeightsFileException($"{path}: not a safetensors file (header length {header:g3} in a file of {length} bytes)");
            if (reader.ReadByte() != (byte)'{')
                throw new WeightsFileException($"{path}: not a safetensors file (the header is not JSON)");
        }
        return Safetensors.LoadStateDict(path);
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

    static Dictionary<string, Tensor> ReadOnnxInitializers(string path) =>
        Onnx.OnnxGraph.Load(path).Initializers.Values
            .Where(t => t.DataType is Onnx.OnnxTensor.Float or Onnx.OnnxTensor.Int64)
            .Where(t => !t.Name.StartsWith(Onnx.OnnxModelBuilder.ConstantPrefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => t.DataType == Onnx.OnnxTensor.Float ? tensor(t.Floats).view(t.Dims) : tensor(t.Longs).view(t.Dims));

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
            var shape = new long[Leb128(reader)];
            for (int d = 0; d < shape.Length; d++) shape[d] = Leb128(reader);
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

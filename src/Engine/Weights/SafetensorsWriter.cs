using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Weights;

/// <summary>Writes a state dict as safetensors (an 8-byte little-endian header length, a JSON header of names,
/// dtypes, shapes and byte ranges padded to 8 bytes, then the raw little-endian data), names sorted, atomically.
/// PyTorch reads it without the safetensors package: the header is JSON and the data <c>torch.frombuffer</c>.
/// Not TorchSharp.PyBridge's writer (its reader is used): in 1.4.4 its path overload calls itself, and its stream overload
/// writes the header's length in characters, unpadded, and tensors as they are laid out.</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> state)
    {
        var entries = state.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, tensor) in entries)
        {
            long bytes = tensor.numel() * tensor.ElementSize;
            header[name] = new { dtype = DTypeOf(name, tensor.dtype), shape = tensor.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            using var writer = new BinaryWriter(stream);
            writer.Write((ulong)padded);
            writer.Write(json);
            for (int i = json.Length; i < padded; i++) writer.Write((byte)' ');
            foreach (var (_, tensor) in entries)
            {
                using var scope = NewDisposeScope(); // detach() and cpu() are handles on the weights' storage too
                writer.Write(tensor.detach().cpu().contiguous().bytes);
            }
        });
    }

    static string DTypeOf(string name, ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Byte => "U8",
        _ => throw new ArgumentException($"{name}: {type} tensors are not written to safetensors here (F32, F64, I64, I32, U8 are)", nameof(name)),
    };
}

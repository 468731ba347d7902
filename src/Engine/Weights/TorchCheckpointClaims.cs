using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace MlNetTransfer.Engine.Weights;

/// <summary>
/// What a PyTorch zip checkpoint (<c>torch.save</c>) claims of its tensors, checked against its archive before
/// TorchSharp.PyBridge reads it. PyBridge allocates what the pickle says — a managed buffer of the storage's element
/// count × size before it looks at the archive entry, then <c>torch.zeros(shape)</c> — so a damaged count made it
/// allocate 1.9 GB before refusing the file, and a shape larger than its storage (a damaged one, or an expanded view,
/// which PyBridge cannot load in any case) asked libtorch for 40 GB; less than the machine's memory, it would be
/// allocated and touched. This reads the pickle with a small interpreter of the opcodes <c>torch.save</c> writes and
/// refuses a storage larger than its entry or a tensor with more elements than its storage; a pickle it does not
/// follow is left to PyBridge to judge.
/// </summary>
internal static class TorchCheckpointClaims
{
    /// <summary>Pickles larger than this are left unchecked (a state dict's is kilobytes).</summary>
    const long MaxPickleBytes = 64L << 20;

    sealed record Global(string Module, string Name);
    sealed record Storage(string Type, string Key, BigInteger Elements);
    sealed record Rebuilt(Storage Storage, BigInteger[] Shape);
    sealed class Mark;

    /// <summary>What is wrong with the checkpoint at <paramref name="path"/>, or null: its claims fit its archive, or
    /// it is not something this reads (then PyBridge judges it).</summary>
    public static string? Problem(string path)
    {
        try
        {
            using var archive = ZipFile.OpenRead(path);
            var pickle = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
            if (pickle is null || pickle.Length > MaxPickleBytes) return null;
            var bytes = new byte[pickle.Length];
            using (var stream = pickle.Open()) stream.ReadExactly(bytes);
            List<(string Name, Rebuilt Tensor)>? named;
            try
            {
                named = Run(bytes);
            }
            catch (InvalidDataException damaged)
            {
                return $"its pickle (data.pkl) is damaged: {damaged.Message}"; // Razorvine would read such lengths and indices as they come
            }
            if (named is null) return null;
            var storages = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal); // "archive/data/<key>", by key
            foreach (var e in archive.Entries)
                if (e.FullName.LastIndexOf("data/", StringComparison.Ordinal) is var at and >= 0) storages.TryAdd(e.FullName[(at + 5)..], e);
            foreach (var (name, tensor) in named)
            {
                var (type, key, elements) = tensor.Storage;
                if (ElementBytes(type) is not { } size) continue;
                if (!storages.TryGetValue(key, out var entry)) return $"tensor '{name}': its storage '{key}' is not in the archive";
                if (elements * size > entry.Length)
                    return $"tensor '{name}': its storage '{key}' claims {elements} {type} elements ({elements * size} bytes) where the archive holds {entry.Length} bytes";
                var count = tensor.Shape.Aggregate(BigInteger.One, (product, d) => product * d);
                if (tensor.Shape.Any(d => d < 0) || count > elements)
                    return $"tensor '{name}' claims the shape [{string.Join(", ", tensor.Shape)}] ({count} elements) over a storage of {elements}" +
                           " (damaged, or an expanded view: save tensor.contiguous())";
            }
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or EndOfStreamException)
        {
            return null; // not a zip this reads: PyBridge says what it is
        }
    }

    static int? ElementBytes(string storageType) => storageType switch
    {
        "DoubleStorage" or "LongStorage" or "ComplexFloatStorage" => 8,
        "FloatStorage" or "IntStorage" => 4,
        "HalfStorage" or "BFloat16Storage" or "ShortStorage" => 2,
        "CharStorage" or "ByteStorage" or "BoolStorage" => 1,
        "ComplexDoubleStorage" => 16,
        _ => null,
    };

    /// <summary>The tensors the pickle rebuilds, by the dictionary key they are stored under; null where it uses an
    /// opcode or a kind of data this does not follow. Throws <see cref="InvalidDataException"/> where the pickle cannot
    /// be whole: a length past its end, a memo index never stored, an empty stack, no STOP.</summary>
    static List<(string Name, Rebuilt Tensor)>? Run(byte[] code)
    {
        var stack = new List<object?>();
        var memo = new Dictionary<long, object?>();
        var named = new List<(string, Rebuilt)>();
        int at = 0;
        object? Pop() { var top = stack[^1]; stack.RemoveAt(stack.Count - 1); return top; }
        List<object?> PopToMark()
        {
            int mark = stack.FindLastIndex(o => o is Mark);
            if (mark < 0) throw new InvalidDataException($"at byte {at}: a collection with no mark before it");
            var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
            stack.RemoveRange(mark, stack.Count - mark);
            return items;
        }
        ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || at + n > code.Length) throw new InvalidDataException($"at byte {at}: {n} bytes asked of {code.Length - at} left");
            var span = code.AsSpan(at, n);
            at += n;
            return span;
        }
        string Line()
        {
            int end = Array.IndexOf(code, (byte)'\n', at);
            if (end < 0) throw new InvalidDataException($"at byte {at}: a name that never ends");
            var text = Encoding.UTF8.GetString(code, at, end - at);
            at = end + 1;
            return text;
        }
        void Set(object? key, object? value)
        {
            if (value is Rebuilt tensor && key is string name) named.Add((name, tensor));
        }

        try
        {
            while (at < code.Length)
            {
                byte op = code[at++];
                switch (op)
                {
                    case 0x80: Take(1); break;                                                   // PROTO
                    case 0x95: Take(8); break;                                                   // FRAME
                    case (byte)'}': case (byte)']': stack.Add(new object()); break;              // EMPTY_DICT, EMPTY_LIST
                    case (byte)')': stack.Add(Array.Empty<object?>()); break;                    // EMPTY_TUPLE
                    case (byte)'(': stack.Add(new Mark()); break;                                // MARK
                    case (byte)'t': stack.Add(PopToMark().ToArray()); break;                     // TUPLE
                    case 0x85: stack.Add(new[] { Pop() }); break;                                // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'q': memo[Take(1)[0]] = stack[^1]; break;                         // BINPUT
                    case (byte)'r': memo[BitConverter.ToUInt32(Take(4))] = stack[^1]; break;     // LONG_BINPUT
                    case 0x94: memo[memo.Count] = stack[^1]; break;                              // MEMOIZE
                    case (byte)'h': stack.Add(memo[Take(1)[0]]); break;                          // BINGET
                    case (byte)'j': stack.Add(memo[BitConverter.ToUInt32(Take(4))]); break;      // LONG_BINGET
                    case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(checked((int)BitConverter.ToUInt32(Take(4)))))); break; // BINUNICODE
                    case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1)[0]))); break;      // SHORT_BINUNICODE
                    case (byte)'K': stack.Add(new BigInteger(Take(1)[0])); break;                // BININT1
                    case (byte)'M': stack.Add(new BigInteger(BitConverter.ToUInt16(Take(2)))); break; // BININT2
                    case (byte)'J': stack.Add(new BigInteger(BitConverter.ToInt32(Take(4)))); break;  // BININT
                    case 0x8a: stack.Add(new BigInteger(Take(Take(1)[0]), isUnsigned: false, isBigEndian: false)); break; // LONG1
                    case (byte)'G': Take(8); stack.Add(null); break;                             // BINFLOAT
                    // what torch.save does not write but a damaged byte can turn into: lengths checked, contents opaque
                    case (byte)'B': case (byte)'T': Take(checked((int)BitConverter.ToUInt32(Take(4)))); stack.Add(new object()); break; // BINBYTES, BINSTRING
                    case (byte)'C': case (byte)'U': Take(Take(1)[0]); stack.Add(new object()); break; // SHORT_BINBYTES, SHORT_BINSTRING
                    case 0x8b: stack.Add(new BigInteger(Take(checked((int)BitConverter.ToUInt32(Take(4)))), isUnsigned: false, isBigEndian: false)); break; // LONG4
                    case 0x8d: case 0x8e: case 0x96: Take(checked((int)BitConverter.ToUInt64(Take(8)))); stack.Add(new object()); break; // BINUNICODE8, BINBYTES8, BYTEARRAY8
                    case (byte)'0': Pop(); break;                                                // POP
                    case (byte)'1': PopToMark(); break;                                          // POP_MARK
                    case (byte)'2': stack.Add(stack[^1]); break;                                 // DUP
                    case (byte)'N': stack.Add(null); break;                                      // NONE
                    case 0x88: case 0x89: stack.Add(op == 0x88); break;                          // NEWTRUE, NEWFALSE
                    case (byte)'c': { var module = Line(); stack.Add(new Global(module, Line())); break; } // GLOBAL
                    case 0x93: { var name = Pop() as string; stack.Add(new Global(Pop() as string ?? "", name ?? "")); break; } // STACK_GLOBAL
                    case (byte)'Q':                                                              // BINPERSID
                        stack.Add(Pop() is object?[] { Length: 5 } id && id[0] is "storage" && id[1] is Global type && id[2] is string key && id[4] is BigInteger elements
                            ? new Storage(type.Name, key, elements) : null);
                        if (stack[^1] is null) return null; // not torch.save's storage id
                        break;
                    case (byte)'R':                                                              // REDUCE
                    {
                        var args = Pop() as object?[];
                        var callable = Pop();
                        bool rebuilds = callable is Global { Module: "torch._utils", Name: "_rebuild_tensor_v2" or "_rebuild_tensor" };
                        if (rebuilds && !(args is [Storage, _, object?[] dims, ..] && dims.All(d => d is BigInteger))) return null;
                        stack.Add(rebuilds ? new Rebuilt((Storage)args![0]!, ((object?[])args[2]!).Cast<BigInteger>().ToArray()) : new object());
                        break;
                    }
                    case 0x81: Pop(); Pop(); stack.Add(new object()); break;                     // NEWOBJ
                    case (byte)'b': Pop(); break;                                                // BUILD: the state goes, the object stays
                    case (byte)'s': { var value = Pop(); var dictKey = Pop(); Set(dictKey, value); break; } // SETITEM
                    case (byte)'u':                                                              // SETITEMS
                    {
                        var items = PopToMark();
                        for (int i = 0; i + 1 < items.Count; i += 2) Set(items[i], items[i + 1]);
                        break;
                    }
                    case (byte)'a': Pop(); break;                                                // APPEND
                    case (byte)'e': PopToMark(); break;                                          // APPENDS
                    case (byte)'.': return named;                                                // STOP
                    default: return null;                                                        // an opcode torch.save does not write
                }
            }
            throw new InvalidDataException("it ends without STOP");
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"at byte {at}: {(e is KeyNotFoundException ? "a memo index never stored" : e is OverflowException ? "a length past any pickle" : "more taken from the stack than was put on it")}");
        }
    }
}

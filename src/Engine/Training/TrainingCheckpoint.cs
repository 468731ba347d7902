using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlNetTransfer.Engine.Strategies;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Training;

/// <summary>
/// Where an interrupted run stopped, beyond the model weights (which travel in the checkpoint model): the decisions
/// already taken (strategy, image size), the position in the schedule, the optimizer's state, the best epoch so far
/// with its weights, and the history. With these the loop continues at the next batch exactly as the uninterrupted
/// run would have: shuffles and augmentation draws are functions of (seed, epoch, batch), not of earlier draws.
/// </summary>
public sealed record TrainingCheckpoint
{
    const string Magic = "MLNETTRANSFER-CHECKPOINT-1";
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Rows of the training images the run left out (<see cref="FineTuneOptions.ExcludeFlagged"/>), so that the
    /// continued run trains on the same images without checking them again.</summary>
    public IReadOnlyList<long> ExcludedRows { get; init; } = [];

    /// <summary>The strategy the run resolved (Auto's decision or the named one).</summary>
    public FineTuneStrategy Strategy { get; init; }

    /// <summary>The image side the run trains at.</summary>
    public int ImageSize { get; init; }

    /// <summary>The batch size the run trains with (its schedule counts these batches); 0 in checkpoints written
    /// before it was recorded, when the options' batch size or the device's default applies.</summary>
    public int BatchSize { get; init; }

    /// <summary>The epochs the run planned (its schedule spans them: Auto may have cut the options' epochs to fit its
    /// budget); 0 in checkpoints written before it was recorded, when the options' epochs apply.</summary>
    public int Epochs { get; init; }

    /// <summary>The images the run trained on (after its validation split); a resume on another number is refused.
    /// 0 in checkpoints written before it was recorded (not checked then).</summary>
    public long TrainImages { get; init; }

    /// <summary>The epoch in progress (1-based) and how many of its batches are done.</summary>
    public int Epoch { get; init; }
    public int BatchesDone { get; init; }

    /// <summary>The epoch in progress so far: summed loss, correct predictions and images seen.</summary>
    public double EpochLossSum { get; init; }
    public long EpochCorrect { get; init; }
    public long EpochSeen { get; init; }

    public IReadOnlyList<EpochSummary> History { get; init; } = [];
    public int BestEpoch { get; init; }
    public double BestAccuracy { get; init; } = double.NegativeInfinity;
    public double BestLoss { get; init; } = double.PositiveInfinity;
    public int SinceBest { get; init; }

    /// <summary>The optimizer's state_dict, as TorchSharp writes it.</summary>
    [JsonIgnore]
    public byte[] OptimizerState { get; init; } = [];

    /// <summary>The best epoch's weights of the trainable groups (CPU tensors; the checkpoint owns them).</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, Tensor> BestWeights { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>The architecture the run trains (its registry name); null in checkpoints written before it was
    /// recorded. A checkpoint that carries <see cref="Weights"/> resumes only into this architecture.</summary>
    public string? Architecture { get; init; }

    /// <summary>The whole network's state_dict at the checkpoint (CPU tensors; the checkpoint owns them), in a checkpoint
    /// taken at an epoch's end while training went on (<see cref="TrainingContext.Checkpoint"/>): it resumes from these
    /// alone. Empty in a cancelled run's checkpoint, whose weights travel in the partial model saved with it.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, Tensor> Weights { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>Writes the checkpoint atomically (a sibling temporary file renamed over <paramref name="path"/>): a
    /// process killed while writing leaves the previous checkpoint whole.</summary>
    public void Save(string path) => AtomicFile.Write(path, temp =>
    {
        using var writer = new BinaryWriter(File.Create(temp), Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(JsonSerializer.Serialize(this, Json)); // the header: every member but the binary ones below
        writer.Write(OptimizerState.Length);
        writer.Write(OptimizerState);
        WriteTensors(writer, BestWeights);
        WriteTensors(writer, Weights);
    });

    /// <summary>Disposes the tensors the checkpoint owns (<see cref="BestWeights"/>, <see cref="Weights"/>).</summary>
    public void DisposeTensors()
    {
        foreach (var tensor in BestWeights.Values.Concat(Weights.Values)) tensor.Dispose();
    }

    static void WriteTensors(BinaryWriter writer, IReadOnlyDictionary<string, Tensor> tensors)
    {
        writer.Write(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            // every handle disposed here: cpu() of a CPU tensor is a new handle on the same storage, and one left to
            // the finalizer kept that storage (the network's weights) alive after the checkpoint freed its tensors
            using var scope = NewDisposeScope();
            var contiguous = tensor.cpu().contiguous();
            writer.Write(name);
            writer.Write((int)contiguous.dtype);
            writer.Write(contiguous.dim());
            foreach (var d in contiguous.shape) writer.Write(d);
            var bytes = contiguous.bytes;
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
    }

    static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => throw new FormatException($"a tensor of {dtype}"),
    };

    static Dictionary<string, Tensor> ReadTensors(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        var tensors = new Dictionary<string, Tensor>();
        for (int i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var dtype = (ScalarType)reader.ReadInt32();
            long dims = reader.ReadInt64();
            if (dims is < 0 or > 8) throw new FormatException($"tensor {name}: {dims} dimensions");
            var shape = new long[dims];
            for (int d = 0; d < shape.Length; d++) shape[d] = reader.ReadInt64();
            int length = reader.ReadInt32();
            long left = reader.BaseStream.Length - reader.BaseStream.Position;
            if (length < 0 || length > left || shape.Any(d => d < 0) || shape.Aggregate(1.0, (n, d) => n * d) * ElementSize(dtype) != length)
                throw new FormatException($"tensor {name}: shape [{string.Join(", ", shape)}] of {dtype} in {length} bytes, {left} left in the file");
            var tensor = empty(shape, dtype);
            tensor.bytes = reader.ReadBytes(length);
            tensors[name] = tensor;
        }
        return tensors;
    }

    /// <summary>Reads a checkpoint; a file that is not one is an <see cref="InvalidDataException"/> naming it.</summary>
    public static TrainingCheckpoint Load(string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{path}: not a training checkpoint of this tool.");
            var header = JsonSerializer.Deserialize<TrainingCheckpoint>(reader.ReadString(), Json) ?? throw new InvalidDataException($"{path}: empty checkpoint header.");
            int optimizerBytes = reader.ReadInt32();
            if (optimizerBytes < 0 || optimizerBytes > reader.BaseStream.Length - reader.BaseStream.Position)
                throw new FormatException($"an optimizer state of {optimizerBytes} bytes, past the file's end");
            var optimizer = reader.ReadBytes(optimizerBytes);
            var best = ReadTensors(reader);
            // checkpoints written before the whole network's weights were kept end here
            var weights = reader.BaseStream.Position < reader.BaseStream.Length ? ReadTensors(reader) : [];
            return header with { OptimizerState = optimizer, BestWeights = best, Weights = weights }; // members missing from older headers keep their defaults
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{path}: a damaged training checkpoint ({e.Message}).", e);
        }
    }
}

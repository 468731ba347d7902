using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The safetensors a job carries: what the writer writes, the reader (TorchSharp.PyBridge) reads back exactly.</summary>
public class SafetensorsWriterTests
{
    [Fact]
    public void Floats_longs_and_bytes_come_back_with_their_names_shapes_and_values()
    {
        using var temp = new TempDirectory();
        var path = temp.File("state.safetensors");
        var state = new Dictionary<string, Tensor>
        {
            ["fc.weight"] = randn(3, 5),
            ["bn.num_batches_tracked"] = tensor(7L),
            ["image"] = randint(0, 255, [2, 3, 4], dtype: ScalarType.Byte),
            ["a.bias"] = randn(3).transpose(0, 0), // written contiguous whatever its strides
        };

        SafetensorsWriter.Write(path, state);
        var read = StateDictFile.Read(path);

        Assert.Equal(state.Keys.Order(), read.Keys.Order());
        foreach (var (name, expected) in state)
        {
            Assert.Equal(expected.dtype, read[name].dtype);
            Assert.Equal(expected.shape, read[name].shape);
            Assert.True(expected.eq(read[name]).all().item<bool>(), name);
        }
        var header = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path), 8, (int)BitConverter.ToUInt64(File.ReadAllBytes(path), 0));
        Assert.Equal(0, (8 + header.Length) % 8); // data starts 8-byte aligned, as the format asks
        Assert.Contains("\"dtype\":\"I64\"", header);
    }

    [Fact]
    public void Writing_leaves_no_tensor_handle_holding_the_weights()
    {
        using var temp = new TempDirectory();
        using var weight = randn(8, 4);
        long live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        SafetensorsWriter.Write(temp.File("state.safetensors"), new Dictionary<string, Tensor> { ["fc.weight"] = weight });

        Assert.Equal(live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount); // detach() and cpu() disposed
    }

    [Fact]
    public void A_dtype_the_job_does_not_use_is_refused_by_name_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        var path = temp.File("half.safetensors");
        var error = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(2, dtype: ScalarType.Float16) }));
        Assert.Contains("w: Float16", error.Message);
        Assert.False(File.Exists(path));
    }
}

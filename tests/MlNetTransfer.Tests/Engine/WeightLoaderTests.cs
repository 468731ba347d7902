using System.Text.Json;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.Runtime;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>Weights from the files people have, checked against what real PyTorch computed with them.</summary>
public class WeightLoaderTests
{
    static readonly Architecture Tiny = ArchitectureRegistry.Get("tiny");

    public WeightLoaderTests() => TorchRuntime.EnsureLoaded();

    static (Tensor Input, float[] Logits) PyTorchReference()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("tiny.json")));
        var shape = json.RootElement.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var input = tensor(json.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetSingle()).ToArray()).view(shape);
        return (input, json.RootElement.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray());
    }

    [Theory]
    [InlineData("tiny.pth")]
    [InlineData("tiny.safetensors")]
    [InlineData("tiny.onnx")]
    public void A_state_dict_saved_by_pytorch_gives_pytorchs_logits(string file)
    {
        using var model = Tiny.Create(3);

        var report = WeightLoader.LoadFile(model, Tiny, TestPaths.Fixture(file));

        Assert.True(report.Loaded >= 14); // BatchNorm buffers included; ONNX drops the step counters
        Assert.False(report.HeadSkipped);
        var (input, expected) = PyTorchReference();
        model.eval();
        using var _ = no_grad();
        var logits = model.call(input).data<float>().ToArray();
        Assert.Equal(expected.Length, logits.Length);
        Assert.All(expected.Zip(logits), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5, $"{p.First} vs {p.Second}"));
    }

    [Fact]
    public void Weights_files_whose_tensors_claim_more_bytes_than_they_hold_are_refused_by_tensor_before_anything_is_allocated()
    {
        using var temp = new TempDirectory();
        // safetensors: [100000, 100000] F32 (40 GB) over a 16-byte span
        var header = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,16]}}"u8.ToArray();
        var safetensors = temp.File("bomb.safetensors");
        File.WriteAllBytes(safetensors, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[16]]);
        // TorchSharp .dat: one entry, Float32 [100000, 100000], then 16 bytes
        var dat = temp.File("bomb.dat");
        using (var writer = new BinaryWriter(File.Create(dat)))
        {
            writer.Write((byte)1);
            writer.Write("fc.weight");
            writer.Write((byte)ScalarType.Float32);
            writer.Write((byte)2);
            foreach (var _ in new[] { 0, 1 }) writer.Write([0xA0, 0x8D, 0x06]); // 100000 in LEB128
            writer.Write(new byte[16]);
        }

        var fromSafetensors = Assert.Throws<WeightsFileException>(() => StateDictFile.Read(safetensors));
        var fromDat = Assert.Throws<WeightsFileException>(() => StateDictFile.Read(dat));

        Assert.Contains("tensor 'fc.weight' claims [100000, 100000] F32 (40000000000 bytes) over a span of 16 bytes", fromSafetensors.Message);
        Assert.Contains(safetensors, fromSafetensors.Message);
        Assert.Contains("fc.weight: [100000, 100000] Float32 claims 40000000000 bytes, and 16 are left in the file", fromDat.Message);
    }

    [Fact]
    public void TorchSharp_dat_files_round_trip()
    {
        using var temp = new TempDirectory();
        using var saved = Tiny.Create(4);
        saved.save(temp.File("tiny.dat"));
        using var loaded = Tiny.Create(4);

        var report = WeightLoader.LoadFile(loaded, Tiny, temp.File("tiny.dat"));

        Assert.Equal(16, report.Loaded);
        var a = saved.state_dict();
        var b = loaded.state_dict();
        Assert.All(a.Keys, k => Assert.True(a[k].allclose(b[k], rtol: 0, atol: 0), k));
    }

    [Fact]
    public void Weights_for_another_class_count_load_everything_but_the_head()
    {
        using var model = Tiny.Create(5);
        var headBefore = model.state_dict()["classifier.weight"].clone();

        var report = WeightLoader.LoadFile(model, Tiny, TestPaths.Fixture("tiny.pth"));

        Assert.True(report.HeadSkipped);
        Assert.Equal(14, report.Loaded);
        Assert.Contains("[3, 16]", report.HeadNote);
        Assert.Contains("[5, 16]", report.HeadNote);
        Assert.True(headBefore.allclose(model.state_dict()["classifier.weight"], rtol: 0, atol: 0));
        using var pytorch = Tiny.Create(3);
        WeightLoader.LoadFile(pytorch, Tiny, TestPaths.Fixture("tiny.pth"));
        Assert.True(pytorch.state_dict()["features.4.weight"].allclose(model.state_dict()["features.4.weight"], rtol: 0, atol: 0));
    }

    [Fact]
    public void A_backbone_shape_mismatch_names_the_key_and_both_shapes()
    {
        using var model = Tiny.Create(3);
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        state["features.4.weight"] = zeros(16, 8, 5, 5);

        var e = Assert.Throws<WeightMismatchException>(() => WeightLoader.Load(model, Tiny, state, "my.pth"));

        Assert.Contains("my.pth", e.Message);
        Assert.Contains("features.4.weight", e.Message);
        Assert.Contains("[16, 8, 5, 5]", e.Message);
        Assert.Contains("[16, 8, 3, 3]", e.Message);
    }

    [Fact]
    public void Weights_of_another_architecture_are_refused_with_the_architecture_named()
    {
        using var model = ArchitectureRegistry.Get("resnet18").Create(3);

        var e = Assert.Throws<WeightMismatchException>(() => WeightLoader.LoadFile(model, ArchitectureRegistry.Get("resnet18"), TestPaths.Fixture("tiny.pth")));

        Assert.Contains("resnet18", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Unknown_extension_and_missing_file_say_what_was_expected()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("weights.h5"), "not torch");

        var unknown = Assert.Throws<ArgumentException>(() => StateDictFile.Read(temp.File("weights.h5")));
        var missing = Assert.Throws<FileNotFoundException>(() => StateDictFile.Read(temp.File("nope.pth")));

        Assert.Contains(".safetensors", unknown.Message);
        Assert.Contains("weights.h5", unknown.Message);
        Assert.Contains("nope.pth", missing.Message);
    }

    [Fact]
    public void A_corrupt_pth_is_reported_with_its_path()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("broken.pth"), [1, 2, 3, 4]);

        var e = Assert.Throws<WeightsFileException>(() => StateDictFile.Read(temp.File("broken.pth")));

        Assert.Contains("broken.pth", e.Message);
    }
}

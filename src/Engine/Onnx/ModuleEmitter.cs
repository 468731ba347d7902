using MlNetTransfer.Engine.Architectures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Onnx;

/// <summary>
/// Writes a network's eval-mode forward pass as ONNX nodes, module by module, tracking the feature map's
/// (channels, height, width). Leaf modules map to one ONNX operator each, sequences to their children in order; the
/// network itself follows its architecture row's <see cref="NetworkForm"/> (the order its forward() in TorchVision 0.107
/// calls its children), which also says what its stages hold (residual blocks, inverted residuals). Adaptive average
/// pooling is written as two matrix products, which is exact for any input size.
/// </summary>
internal sealed class ModuleEmitter(OnnxModelBuilder onnx) : IDisposable
{
    public (long C, long H, long W) Shape;
    public long Features;  // the flattened width once the network has flattened its feature map

    /// <summary>A module path (the classifier's) where writing stops: the module itself is not written (its input is
    /// kept by a tap on the same path, <see cref="Taps"/>).</summary>
    public string? StopAt;

    /// <summary>Module paths whose input is kept, as [N, width] (a feature map averaged over its positions), when the
    /// first module at or under the path is written: (value, width), null until then. The modules are written.</summary>
    public Dictionary<string, (string Value, long Width)?> Taps { get; } = new();

    public string Emit(nn.Module module, string input, string path)
    {
        foreach (var tap in Taps.Where(t => t.Value is null && (path == t.Key || path.StartsWith(t.Key + ".", StringComparison.Ordinal))).Select(t => t.Key).ToList())
            Taps[tap] = Features == 0 // not flattened yet: a feature map, averaged over the image
                ? (onnx.Node("Flatten", [onnx.Node("GlobalAveragePool", [input])], null, ("axis", 1L)), Shape.C)
                : (input, Features);
        if (StopAt != null && path == StopAt) return input;
        switch (module)
        {
            case Conv2d conv: return Conv(conv, input, path);
            case BatchNorm2d bn: return BatchNorm(bn, input, path);
            case ReLU: return onnx.Node("Relu", [input]);
            case ReLU6: return onnx.Node("Clip", [input, Scalar(OnnxModelBuilder.Constant(path + ".min"), 0f), Scalar(OnnxModelBuilder.Constant(path + ".max"), 6f)]);
            case MaxPool2d pool: return MaxPool(pool, input);
            case AdaptiveAvgPool2d pool: return AdaptiveAvgPool(pool.output_size, input, path);
            case TorchSharp.Modules.Flatten: return Flatten(input);
            case Dropout or Identity: return input;
            case Linear linear: return Gemm(linear, input, path);
            case Sequential sequential:
                foreach (var (name, child) in sequential.named_children())
                    input = Emit(child, input, Join(path, name));
                return input;
        }
        throw new NotSupportedException($"ONNX export does not know module {path} ({module.GetType().Name}): a composite module is written by its network's form.");
    }

    /// <summary>The whole network, laid out as its architecture row's <paramref name="form"/> says.</summary>
    public string EmitNetwork(nn.Module network, NetworkForm form, string input) => form switch
    {
        NetworkForm.ResNet => ResNet(network, input, ""),
        NetworkForm.MultiLevelResNet => MultiLevelResNet(network, input, ""),
        NetworkForm.MobileNetV2 => MobileNetV2(network, input, ""),
        NetworkForm.FeaturesPoolClassifier => FeaturesPoolClassifier(network, input, ""),
        NetworkForm.FeaturesClassifier => Children(network, input, "", "features", "classifier"),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, null),
    };

    string ResNet(nn.Module module, string input, string path)
    {
        var x = Children(module, input, path, "conv1", "bn1", "relu", "maxpool");
        foreach (var stage in (string[])["layer1", "layer2", "layer3", "layer4"]) x = Stage(module, x, path, stage);
        x = Children(module, x, path, "avgpool");
        return Emit(Child(module, "fc"), Flatten(x), Join(path, "fc"));
    }

    /// <summary>A ResNet stage: its residual blocks in order.</summary>
    string Stage(nn.Module module, string input, string path, string stage)
    {
        foreach (var (name, block) in Child(module, stage).named_children())
            input = ResidualBlock(block, input, Join(Join(path, stage), name));
        return input;
    }

    string MultiLevelResNet(nn.Module module, string input, string path)
    {
        var x = Stage(module, Children(module, input, path, "conv1", "bn1", "relu", "maxpool"), path, "layer1");
        var pooled = new List<string>();
        long width = 0;
        foreach (var stage in Architectures.MultiLevelResNet.PooledStages)
        {
            x = Stage(module, x, path, stage);
            pooled.Add(onnx.Node("Flatten", [onnx.Node("GlobalAveragePool", [x])], null, ("axis", 1L)));
            width += Shape.C;
        }
        Shape = (width, 1, 1);
        Features = width;
        return Emit(Child(module, "fc"), onnx.Node("Concat", [.. pooled], null, ("axis", 1L)), Join(path, "fc"));
    }

    string ResidualBlock(nn.Module block, string input, string path)
    {
        var inputShape = Shape;
        var children = block.named_children().ToDictionary(c => c.name, c => c.module);
        bool bottleneck = children.ContainsKey("conv3");
        var x = Children(block, input, path, "conv1", "bn1");
        x = onnx.Node("Relu", [x]);
        x = Children(block, x, path, "conv2", "bn2");
        if (bottleneck)
        {
            x = onnx.Node("Relu", [x]);
            x = Children(block, x, path, "conv3", "bn3");
        }
        var outputShape = Shape;
        var identity = input;
        if (children.TryGetValue("downsample", out var downsample))
        {
            Shape = inputShape;
            identity = Emit(downsample, input, Join(path, "downsample"));
        }
        Shape = outputShape;
        return onnx.Node("Relu", [onnx.Node("Add", [x, identity])]);
    }

    string InvertedResidual(nn.Module block, string input, string path)
    {
        var inputShape = Shape;
        var x = Emit(Child(block, "conv"), input, Join(path, "conv"));
        // TorchVision adds the shortcut exactly when stride is 1 and channels are kept, i.e. when the shape is unchanged.
        return Shape == inputShape ? onnx.Node("Add", [input, x]) : x;
    }

    string MobileNetV2(nn.Module module, string input, string path)
    {
        // features: convolution blocks (plain sequences: the first and the last) around the inverted residuals
        var x = input;
        foreach (var (name, child) in Child(module, "features").named_children())
            x = child is Sequential ? Emit(child, x, Join(Join(path, "features"), name)) : InvertedResidual(child, x, Join(Join(path, "features"), name));
        x = onnx.Node("GlobalAveragePool", [x]);
        Shape = (Shape.C, 1, 1);
        return Emit(Child(module, "classifier"), Flatten(x), Join(path, "classifier"));
    }

    string FeaturesPoolClassifier(nn.Module module, string input, string path)
    {
        var x = Children(module, input, path, "features", "avgpool");
        return Emit(Child(module, "classifier"), Flatten(x), Join(path, "classifier"));
    }

    string Children(nn.Module module, string input, string path, params string[] names)
    {
        foreach (var name in names) input = Emit(Child(module, name), input, Join(path, name));
        return input;
    }

    static nn.Module Child(nn.Module module, string name) =>
        module.named_children().FirstOrDefault(c => c.name == name).module
        ?? throw new NotSupportedException($"ONNX export: {module.GetType().Name} has no child '{name}'.");

    string Conv(Conv2d conv, string input, string path)
    {
        if (conv.padding is null) throw new NotSupportedException($"ONNX export: {path} uses string padding.");
        var inputs = new List<string> { Weight(conv.weight, path + ".weight") };
        if (conv.bias is not null) inputs.Add(Weight(conv.bias, path + ".bias"));
        var (k, s, p, d) = (conv.kernel_size, conv.stride, conv.padding, conv.dilation);
        var output = onnx.Node("Conv", [input, .. inputs], null,
            ("kernel_shape", k), ("strides", s), ("pads", new[] { p[0], p[1], p[0], p[1] }), ("dilations", d), ("group", conv.groups));
        Shape = (conv.out_channels, Out(Shape.H, k[0], s[0], p[0], d[0], false), Out(Shape.W, k[1], s[1], p[1], d[1], false));
        return output;
    }

    string BatchNorm(BatchNorm2d bn, string input, string path) =>
        onnx.Node("BatchNormalization",
            [input, Weight(bn.weight, path + ".weight"), Weight(bn.bias!, path + ".bias"),
             Weight(bn.running_mean!, path + ".running_mean"), Weight(bn.running_var!, path + ".running_var")],
            null, ("epsilon", (float)bn.eps));

    string MaxPool(MaxPool2d pool, string input)
    {
        var (k, s, p, d) = (pool.kernel_size, pool.stride ?? pool.kernel_size, pool.padding ?? [0, 0], pool.dilation ?? [1, 1]);
        if (k.Length == 1) k = [k[0], k[0]];
        if (s.Length == 1) s = [s[0], s[0]];
        if (p.Length == 1) p = [p[0], p[0]];
        if (d.Length == 1) d = [d[0], d[0]];
        var output = onnx.Node("MaxPool", [input], null,
            ("kernel_shape", k), ("strides", s), ("pads", new[] { p[0], p[1], p[0], p[1] }), ("dilations", d), ("ceil_mode", pool.ceil_mode ? 1L : 0L));
        Shape = (Shape.C, Out(Shape.H, k[0], s[0], p[0], d[0], pool.ceil_mode), Out(Shape.W, k[1], s[1], p[1], d[1], pool.ceil_mode));
        return output;
    }

    /// <summary>out = A · X · Bᵀ with A[i, h] = 1/|window_i| over PyTorch's window [⌊i·H/o⌋, ⌈(i+1)·H/o⌉).</summary>
    string AdaptiveAvgPool(long[] outputSize, string input, string path)
    {
        long oh = outputSize[0], ow = outputSize.Length > 1 ? outputSize[1] : outputSize[0];
        if (oh == 1 && ow == 1)
        {
            Shape = (Shape.C, 1, 1);
            return onnx.Node("GlobalAveragePool", [input]);
        }
        if (oh == Shape.H && ow == Shape.W) return input;
        var rows = onnx.Initializer(OnnxModelBuilder.Constant(path + ".rows"), PoolingMatrix(oh, Shape.H), oh, Shape.H);
        var columns = onnx.Initializer(OnnxModelBuilder.Constant(path + ".columns"), Transpose(PoolingMatrix(ow, Shape.W), ow, Shape.W), Shape.W, ow);
        Shape = (Shape.C, oh, ow);
        return onnx.Node("MatMul", [onnx.Node("MatMul", [rows, input]), columns]);
    }

    string Flatten(string input)
    {
        Features = Shape.C * Shape.H * Shape.W;
        return onnx.Node("Flatten", [input], null, ("axis", 1L));
    }

    string Gemm(Linear linear, string input, string path)
    {
        var inputs = new List<string> { input, Weight(linear.weight, path + ".weight") };
        if (linear.bias is not null) inputs.Add(Weight(linear.bias, path + ".bias"));
        Features = linear.weight.shape[0];
        return onnx.Node("Gemm", [.. inputs], null, ("transB", 1L));
    }

    /// <summary>An initializer that refers to the tensor's memory (no copy: the model is laid out once, in
    /// <see cref="OnnxModelBuilder.Build"/>); the tensor is held until the emitter is disposed.</summary>
    unsafe string Weight(Tensor t, string name)
    {
        Tensor cpu;
        using (NewDisposeScope()) cpu = t.detach().cpu().contiguous().DetachFromDisposeScope(); // the steps between: disposed, not left holding the weights' memory
        _held.Add(cpu);
        var bytes = cpu.bytes;
        fixed (byte* data = bytes)
            return onnx.FloatInitializer(name, (IntPtr)data, bytes.Length, cpu.shape);
    }

    readonly List<Tensor> _held = [];

    public void Dispose()
    {
        foreach (var t in _held) t.Dispose();
        _held.Clear();
    }

    string Scalar(string name, float value) => onnx.Initializer(name, [value]);

    static float[] PoolingMatrix(long outputs, long inputs)
    {
        var m = new float[outputs * inputs];
        for (long i = 0; i < outputs; i++)
        {
            long start = i * inputs / outputs, end = ((i + 1) * inputs + outputs - 1) / outputs;
            for (long j = start; j < end; j++) m[i * inputs + j] = 1f / (end - start);
        }
        return m;
    }

    static float[] Transpose(float[] m, long rows, long columns)
    {
        var t = new float[m.Length];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < columns; c++)
                t[c * rows + r] = m[r * columns + c];
        return t;
    }

    static long Out(long size, long kernel, long stride, long pad, long dilation, bool ceil)
    {
        double value = (double)(size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
        long result = ceil ? (long)Math.Ceiling(value) : (long)Math.Floor(value);
        if (ceil && (result - 1) * stride >= size + pad) result--; // PyTorch: the last window must start inside the input
        return result;
    }

    static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;
}

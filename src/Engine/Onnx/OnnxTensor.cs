namespace MlNetTransfer.Engine.Onnx;

/// <summary>An ONNX initializer or tensor attribute, float or int64.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, int DataType, float[] Floats, long[] Longs)
{
    public const int Float = 1, Int64 = 7;
}

namespace MlNetTransfer.Engine.Training;

/// <summary>The training or validation loss became NaN or infinite. The model has been restored to the best weights
/// seen before it.</summary>
public sealed class NonFiniteLossException(int epoch, int batch, double learningRate, bool validation = false)
    : Exception($"The {(validation ? "validation" : "training")} loss became non-finite at epoch {epoch}" + (validation ? "" : $", batch {batch}") +
                $" (learning rate {learningRate:g3}). The model keeps the best weights seen before that. Lower the learning rate, or check the images for corrupt values.")
{
    public int Epoch { get; } = epoch;
    public int Batch { get; } = batch;
    public bool Validation { get; } = validation;
}

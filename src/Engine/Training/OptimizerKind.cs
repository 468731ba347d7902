namespace MlNetTransfer.Engine.Training;

/// <summary>The optimizer that updates the trainable parameters.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (decoupled weight decay), betas 0.9/0.999.</summary>
    AdamW,
    /// <summary>SGD with Nesterov momentum 0.9.</summary>
    Sgd,
}

namespace MlNetTransfer.Engine.Strategies;

/// <summary>What to fine-tune, from the recipe's dataset size × similarity guide.</summary>
public enum FineTuneStrategy
{
    /// <summary>Decide from images per class, a linear probe of how well the pretrained features separate the
    /// classes, and the device (see <see cref="AutoStrategy"/>).</summary>
    Auto,

    /// <summary>Small data, similar to the pretraining data: train the new classifier only, everything else frozen
    /// (AlexNet: freeze <c>features</c>, replace <c>classifier[6]</c> by Linear(4096, N)).</summary>
    HeadOnly,

    /// <summary>Small data, different from the pretraining data: retrain the initial (low-level) layer group and the
    /// classifier; the middle and upper groups stay frozen.</summary>
    InitialLayers,

    /// <summary>Large data, similar: retrain the last backbone group and the classifier.</summary>
    LastLayers,

    /// <summary>Large data, similar, compute to spare: the whole network from the checkpoint with discriminative
    /// learning rates, from base/100 in the first group up to base at the head.</summary>
    WholeNetwork,

    /// <summary>Large data, different: retrain everything from the checkpoint at the base learning rate.</summary>
    RetrainAll,
}

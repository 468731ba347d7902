namespace MlNetTransfer.Engine.Training;

/// <summary>
/// The epochs a run plans when <see cref="FineTuneOptions.Epochs"/> is not given: the default 10, or on a small
/// training set as many as give it <see cref="MinimumSteps"/> optimizer steps, at most <see cref="MaximumEpochs"/>.
/// A schedule counted in epochs gives a small set few steps (1 600 images in batches of 32: 500 in 10 epochs), and
/// the backbone is still moving when the rate anneals: measured on this project's 2-core CPU (WholeNetwork 96 px,
/// 5 000 test images), Fashion-MNIST 2 000 went from 89.20 % in 10 epochs to 89.68 % in 15, icons 2 000 (test icons
/// from unseen themes) from 47.89 % to 48.69 % — more than a larger image side bought in the same time
/// (<c>bench/results/epochs-f2000-icons2000.md</c>). Sets of 8 000 training images and more keep 10 epochs.
/// </summary>
public static class EpochPlan
{
    /// <summary>Optimizer steps a run plans at least (15 epochs of 50 steps, the GPU's smallest default).</summary>
    public const int MinimumSteps = 750;

    /// <summary>The most epochs the plan gives a very small set.</summary>
    public const int MaximumEpochs = 30;

    public static int StepsPerEpoch(long trainImages, int batchSize) => (int)Math.Max(1, (trainImages + batchSize - 1) / batchSize);

    /// <summary>Epochs for a run of <paramref name="stepsPerEpoch"/> steps an epoch.</summary>
    public static int For(int stepsPerEpoch) =>
        Math.Clamp((MinimumSteps + stepsPerEpoch - 1) / Math.Max(1, stepsPerEpoch), FineTuneOptions.Defaults.Epochs, MaximumEpochs);

    /// <summary>Why the run takes <paramref name="epochs"/>, for the log.</summary>
    public static string Describe(int epochs, int stepsPerEpoch) => epochs == FineTuneOptions.Defaults.Epochs
        ? $"{epochs} epochs (the default; {stepsPerEpoch} steps an epoch)"
        : $"{epochs} epochs ({stepsPerEpoch} steps an epoch: at least {MinimumSteps} steps in all, at most {MaximumEpochs} epochs)";
}

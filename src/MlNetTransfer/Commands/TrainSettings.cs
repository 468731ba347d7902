using System.ComponentModel;
using MlNetTransfer.Engine.Strategies;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>Options of `train`.</summary>
public sealed class TrainSettings : CommandSettings
{
    [CommandOption("--data <PATH>")]
    [Description("Folder with one sub-folder per class, or a CSV with filename,target columns. Default: data-samples/fashion-mnist/train.")]
    public string? Data { get; init; }

    [CommandOption("--test <PATH>")]
    [Description("Test images (folder or CSV) for the report. Default: data-samples' test split with the default data, else 20 % of --data held out.")]
    public string? Test { get; init; }

    [CommandOption("--arch <NAME>")]
    [Description("Architecture: resnet18_cntk (embedded ImageNet weights), alexnet, resnet18, resnet34, resnet50, mobilenet_v2, vgg16, tiny.")]
    public string Architecture { get; init; } = MlNet.TransferTrainOptions.Defaults.Architecture;

    [CommandOption("--weights <PATH>")]
    [Description("Weights file (.pth, .safetensors, .dat, .onnx), an embedded weight name, or 'scratch'. Default: the embedded weights.")]
    public string? Weights { get; init; }

    [CommandOption("--strategy <NAME>")]
    [Description("Auto, HeadOnly, InitialLayers, LastLayers, WholeNetwork or RetrainAll.")]
    public FineTuneStrategy Strategy { get; init; } = FineTuneStrategy.Auto;

    [CommandOption("--epochs <N>")]
    public int Epochs { get; init; } = Engine.Training.FineTuneOptions.Defaults.Epochs;

    [CommandOption("--batch-size <N>")]
    public int BatchSize { get; init; } = Engine.Training.FineTuneOptions.Defaults.BatchSize;

    [CommandOption("--lr <RATE>")]
    [Description("Base learning rate.")]
    public double LearningRate { get; init; } = Engine.Training.FineTuneOptions.Defaults.LearningRate;

    [CommandOption("--image-size <PIXELS>")]
    [Description("Square side images are resized to. Default: the weights' own (224); smaller is much faster on CPU.")]
    public int? ImageSize { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto, cpu, cuda or cuda:N.")]
    public string Device { get; init; } = "auto";

    [CommandOption("--seed <N>")]
    public int Seed { get; init; } = Engine.Training.FineTuneOptions.Defaults.Seed;

    [CommandOption("--out <FOLDER>")]
    [Description("Where model.zip and the report go. Default: out")]
    public string Out { get; init; } = "out";

    [CommandOption("--strict")]
    [Description("Fail on the first unreadable or missing image instead of skipping and reporting it.")]
    public bool Strict { get; init; }

    [CommandOption("--resume")]
    [Description("Continue an interrupted run from the checkpoint in --out.")]
    public bool Resume { get; init; }

    public override ValidationResult Validate()
    {
        if (Epochs < 1) return ValidationResult.Error("--epochs must be at least 1.");
        if (BatchSize < 1) return ValidationResult.Error("--batch-size must be at least 1.");
        if (!(LearningRate > 0)) return ValidationResult.Error("--lr must be a positive number.");
        if (ImageSize is < 8 or > 1024) return ValidationResult.Error("--image-size must be between 8 and 1024.");
        if (DeviceOption.TryParse(Device) == null) return ValidationResult.Error($"--device must be auto, cpu, cuda or cuda:N, not '{Device}'.");
        return ValidationResult.Success();
    }
}

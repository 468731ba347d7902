using System.ComponentModel;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using Spectre.Console;
using Spectre.Console.Cli;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Cli.Commands;

/// <summary>The options `train` and `job export` share: the data, the recipe's options, the device and the seed.</summary>
public class RunSettings : CommandSettings, ICsvColumnSettings
{
    [CommandOption("--data <PATH>")]
    [Description("Folder with one sub-folder per class, or a CSV of image paths and classes (filename,target or ImagePath,Label; comma, tab or semicolon separated; other names with --image-column, --label-column). Default: data-samples/fashion-mnist/train.")]
    public string? Data { get; init; }

    [CommandOption("--test <PATH>")]
    [Description("Test images (folder or CSV) for the report. Default: data-samples' test split with the default data, else 20 % of --data held out.")]
    public string? Test { get; init; }

    [CommandOption("--image-column <NAME>")]
    [Description(CsvColumnOptions.ImageHelp)]
    public string? ImageColumn { get; init; }

    [CommandOption("--label-column <NAME>")]
    [Description(CsvColumnOptions.LabelHelp)]
    public string? LabelColumn { get; init; }

    [CommandOption("--image-root <FOLDER>")]
    [Description(CsvColumnOptions.RootHelp)]
    public string? ImageRoot { get; init; }

    [CommandOption("--arch <NAME>")]
    [Description("Architecture, as `models` lists them: resnet18_cntk (embedded ImageNet weights), resnet18_cntk_multilevel (its classifier alone reads layers 2-4), alexnet, resnet18, resnet34, resnet50, mobilenet_v2, vgg16, tiny.")]
    public string Architecture { get; init; } = TransferTrainOptions.Defaults.Architecture;

    [CommandOption("--weights <PATH>")]
    [Description("Weights file (.pth, .safetensors, .dat, .onnx), an embedded weight name, or 'scratch'. Default: the embedded weights.")]
    public string? Weights { get; init; }

    [CommandOption("--strategy <NAME>")]
    [Description("Auto, HeadOnly, InitialLayers, LastLayers, WholeNetwork or RetrainAll.")]
    public FineTuneStrategy Strategy { get; init; } = FineTuneStrategy.Auto;

    [CommandOption("--time-budget <DURATION>")]
    [Description("How long a run under Auto may take, reading the images to the trained model (the test after it not counted): 90s, 10m, 1.5h (a plain number is minutes). Default: 10m.")]
    public string? TimeBudget { get; init; }

    [CommandOption("--epochs <N>")]
    [Description("Epochs when layers below the classifier train (the classifier alone is solved, not trained in epochs); Auto cuts them to no fewer than half when that is the only way a deeper strategy fits its budget.")]
    public int Epochs { get; init; } = Engine.Training.FineTuneOptions.Defaults.Epochs;

    [CommandOption("--batch-size <N>")]
    [Description("Images per step. Default: 32 on the CPU; on a GPU up to 256, keeping at least 50 steps an epoch.")]
    public int? BatchSize { get; init; }

    [CommandOption("--lr <RATE>")]
    [Description("Base learning rate.")]
    public double LearningRate { get; init; } = Engine.Training.FineTuneOptions.Defaults.LearningRate;

    [CommandOption("--optimizer <NAME>")]
    [Description("adamw or sgd (Nesterov momentum 0.9) while layers below the classifier train. Default: adamw.")]
    public Engine.Training.OptimizerKind Optimizer { get; init; } = Engine.Training.OptimizerKind.AdamW;

    [CommandOption("--weight-decay <L2>")]
    [Description("AdamW's weight decay while layers below the classifier train. Default: 1e-4.")]
    public double WeightDecay { get; init; } = Engine.Training.FineTuneOptions.Defaults.WeightDecay;

    [CommandOption("--label-smoothing <EPS>")]
    [Description("Label smoothing while layers below the classifier train, 0 to below 1. Default: 0.1.")]
    public double LabelSmoothing { get; init; } = Engine.Training.FineTuneOptions.Defaults.LabelSmoothing;

    [CommandOption("--balance-classes")]
    [Description("Weigh every class equally in the loss (inverse to its number of training images), for sets where some classes have far fewer images.")]
    public bool BalanceClasses { get; init; }

    [CommandOption("--test-time-flip <MODE>")]
    [Description("auto, on or off: average each prediction with the mirror image's (one more forward pass per image). Default: auto, on when it lowers the validation loss.")]
    public string TestTimeFlip { get; init; } = "auto";

    [CommandOption("--no-calibration")]
    [Description("Serve the network's scores as they are, without the temperature fitted on the validation images (which makes Score read as a probability; predictions are the same either way).")]
    public bool NoCalibration { get; init; }

    [CommandOption("--no-unfamiliar")]
    [Description("Leave out what lets the model say which images are unlike every training image (the Unfamiliar column, predict's 'unfamiliar' answers): a sample of the training images' features, up to 16 MB in the model, and one pass over up to 2 000 training images after training.")]
    public bool NoUnfamiliar { get; init; }

    [CommandOption("--exclude-flagged")]
    [Description("Train without the images the data checks flag as likely label errors or duplicates, nor the training images a test image copies (the report names them all). Outliers stay.")]
    public bool ExcludeFlagged { get; init; }

    [CommandOption("--no-data-checks")]
    [Description("Skip the data checks (likely label errors, duplicates, test images copied in training, outliers) that every run makes on the features its classifier is solved on.")]
    public bool NoDataChecks { get; init; }

    [CommandOption("--image-size <PIXELS>")]
    [Description("Square side images are resized to. Default: Auto chooses (the weights' own side, 224, for the classifier alone).")]
    public int? ImageSize { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto, cpu, cuda or cuda:N.")]
    public string Device { get; init; } = "auto";

    [CommandOption("--seed <N>")]
    public int Seed { get; init; } = Engine.Training.FineTuneOptions.Defaults.Seed;

    [CommandOption("--strict")]
    [Description("Fail on the first unreadable or missing image instead of skipping and reporting it.")]
    public bool Strict { get; init; }

    [CommandOption("--max-image-pixels <N>")]
    [Description("The most pixels an image may hold (width × height, from its header, before decoding); larger ones are skipped as unreadable. Default: 178956970 (Pillow's limit, about 179 megapixels).")]
    public long MaxImagePixels { get; init; } = Imaging.ImageDecoder.DefaultMaxPixels;

    /// <summary>--data and --test, or data-samples' train and test splits when no --data is given.</summary>
    public (string Data, string? Test) DataPaths() => DefaultData.Paths(Data, Test);

    /// <summary>The run's options record: the command line mapped once (the device's GPU number is the command's).
    /// A value that cannot be parsed is a <see cref="CliException"/> naming the option (exit code 8).</summary>
    public TransferTrainOptions ToOptions() => new()
    {
        Architecture = Architecture, Weights = Weights, Strategy = Strategy, ImageSize = ImageSize,
        TimeBudget = TimeBudget == null ? Engine.Training.FineTuneOptions.Defaults.TimeBudget
            : ParseDuration(TimeBudget) ?? throw new CliException(ExitCodes.BadOption, $"--time-budget must be a duration such as 90s, 10m or 1.5h (at most 100 years), not '{TimeBudget}'."),
        Epochs = Epochs, BatchSize = BatchSize, LearningRate = LearningRate, Optimizer = Optimizer, WeightDecay = WeightDecay,
        LabelSmoothing = LabelSmoothing, BalanceClasses = BalanceClasses, Seed = Seed,
        TestTimeFlip = TestTimeFlip.ToLowerInvariant() switch
        {
            "auto" => null, "on" => true, "off" => false,
            _ => throw new CliException(ExitCodes.BadOption, $"--test-time-flip must be auto, on or off, not '{TestTimeFlip}'."),
        },
        Device = DeviceOption.Parse(Device).Kind,
        MaxImagePixels = MaxImagePixels, FailOnUnreadableImages = Strict, CalibrateScores = !NoCalibration, FlagUnfamiliar = !NoUnfamiliar,
        CheckData = !NoDataChecks, ExcludeFlagged = ExcludeFlagged,
    };

    /// <summary>Checks an options record once, by name, as the command line spells it: exit code 8 with the option
    /// and what was expected.</summary>
    public static void Check(TransferTrainOptions options)
    {
        try
        {
            TransferTrainPreflight.CheckOptions(options); // the starting weights named (not read) too: refused before the data
        }
        catch (ArgumentException e)
        {
            var option = e.ParamName is { } name && OptionNames.TryGetValue(name, out var flag) ? flag : e.ParamName;
            var detail = e.Message.Split(" (Parameter")[0].Split(Environment.NewLine)[0];
            throw new CliException(ExitCodes.BadOption, $"{option}: {detail}" + (e is ArgumentOutOfRangeException { ActualValue: { } actual } ? $", not {actual}." : ""));
        }
        catch (NoPretrainedWeightsException e)
        {
            throw new CliException(ExitCodes.BadOption, $"--weights: {e.Message}");
        }
    }

    static readonly Dictionary<string, string> OptionNames = new()
    {
        ["Architecture"] = "--arch", ["ImageSize"] = "--image-size", ["Epochs"] = "--epochs", ["BatchSize"] = "--batch-size",
        ["LearningRate"] = "--lr", ["WeightDecay"] = "--weight-decay", ["LabelSmoothing"] = "--label-smoothing", ["TimeBudget"] = "--time-budget", ["Strategy"] = "--strategy", ["name"] = "--arch", ["Weights"] = "--weights", ["MaxImagePixels"] = "--max-image-pixels",
        ["ExcludeFlagged"] = "--exclude-flagged",
    };

    static readonly TimeSpan MaximumBudget = TimeSpan.FromDays(36525);

    /// <summary>"90s", "10m", "1.5h", or a plain number of minutes, up to a hundred years.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        double factor = text.EndsWith('s') ? 1 : text.EndsWith('h') ? 3600 : 60;
        var number = text.TrimEnd('s', 'm', 'h');
        // beyond a hundred years a budget is no budget: TimeSpan would overflow
        return double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
               && double.IsFinite(value) && Math.Abs(value * factor) <= MaximumBudget.TotalSeconds ? TimeSpan.FromSeconds(value * factor) : null;
    }
}

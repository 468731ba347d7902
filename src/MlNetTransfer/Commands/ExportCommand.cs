using System.ComponentModel;
using MlNetTransfer.Cli.Data;
using MlNetTransfer.MlNet;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`export`: the network inside a model.zip as a standalone ONNX file.</summary>
public sealed class ExportCommand(IAnsiConsole console) : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <PATH>")]
        public string Model { get; init; } = "out/" + TrainCommand.ModelFile;

        [CommandOption("--onnx <PATH>")]
        [Description("Where to write the .onnx file.")]
        public string? Onnx { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Onnx) ? ValidationResult.Error("--onnx is required: the file to write.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        CommandErrors.Run(console, () =>
        {
            if (!File.Exists(settings.Model)) throw new CliException(ExitCodes.BadModel, $"{settings.Model}: model file not found.");
            var info = TransferModelFile.ReadMetadata(settings.Model);
            var target = FolderOption.WritableFile(settings.Onnx!, "--onnx", ("--model", settings.Model));
            WorkFolder.CleanStale(console, Path.GetDirectoryName(target)!); // what killed writes left beside it
            var path = AtomicFile.Write(settings.Onnx!, TransferModelFile.ReadOnnx(settings.Model));
            console.WriteLine($"wrote {path}: {info.Architecture}, {info.ClassNames.Count} classes, input {info.Preprocessing.InputSize}×{info.Preprocessing.InputSize} " +
                              "planar RGB 0..255 [1,3,S,S]; outputs Score (probabilities in this class order" +
                              (info.TestTimeFlip ? ", each image's averaged with its mirror image's" : "") +
                              (info.Temperature != 1 ? $", calibrated with temperature {info.Temperature:0.###}" : "") + "), the arg-max index" +
                              (info.Unfamiliar is { } rule ? $" and the unfamiliar flag (1: {rule})" : ""));
            console.WriteLine($"classes: {string.Join(", ", info.ClassNames)}");
            return ExitCodes.Success;
        });
}

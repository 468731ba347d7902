using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Weights;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli.Commands;

/// <summary>`models`: the architectures and the weights available without a download, with their preprocessing.</summary>
public sealed class ModelsCommand(IAnsiConsole console) : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var architectures = new Table().AddColumn("architecture").AddColumn("layer groups (low → head)").AddColumn("input").AddColumn("description");
        foreach (var a in ArchitectureRegistry.All)
            architectures.AddRow(Markup.Escape(a.Name), Markup.Escape(string.Join(", ", a.LayerGroups.Select(g => g.Name))),
                $"{a.DefaultInputSize} px (min {a.MinimumInputSize})", Markup.Escape(a.Description));
        console.Write(architectures);

        var weights = new Table().AddColumn("weights").AddColumn("architectures").AddColumn("preprocessing").AddColumn("source");
        foreach (var w in PretrainedCatalog.Embedded())
        {
            var p = w.Preprocessing;
            var normalisation = p.MeanImage != null ? $"minus a {p.MeanImageSize}×{p.MeanImageSize} mean image" : $"mean [{string.Join(", ", p.Mean)}], std [{string.Join(", ", p.Std)}]";
            var takers = ArchitectureRegistry.All.Where(a => a.WeightsOf == w.Architecture).Select(a => a.Name);
            weights.AddRow(Markup.Escape(w.Name), Markup.Escape(string.Join(", ", takers)),
                Markup.Escape($"{p.InputSize} px, {p.ChannelOrder}, ×{p.PixelScale:0.#####}, {normalisation}"), Markup.Escape(w.Description));
        }
        console.Write(weights);
        console.WriteLine($"Other architectures take a weights file (--weights): .pth/.pt (torch.save(state_dict)), .safetensors, TorchSharp .dat, " +
                          $"or an .onnx written by this tool; ImageNet mean/std preprocessing is assumed for them. '{PretrainedCatalog.Scratch}' trains from random initialisation.");
        if (PretrainedCatalog.Embedded().Count == 0)
            console.WriteLine($"No embedded weights found in {PretrainedCatalog.DnnImageModelsDirectory}.");
        return ExitCodes.Success;
    }
}

using MlNetTransfer.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli;

/// <summary>The command table. The console is injected so tests drive commands in-process.</summary>
public static class CliApp
{
    public static CommandApp Create(IAnsiConsole console)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.Settings.Registrar.RegisterInstance<IAnsiConsole>(console);
            config.SetApplicationName("mlnet-transfer");
            config.ConfigureConsole(console);
            config.UseStrictParsing(); // an unknown option is an error, not a silently ignored argument
            config.AddCommand<TrainCommand>("train")
                .WithDescription("Fine-tune a pretrained CNN on a folder of class folders or a filename,target CSV; write model.zip and a report.")
                .WithExample("train")
                .WithExample("train", "--data", "photos/", "--arch", "resnet18_cntk", "--epochs", "5", "--out", "runs/1");
            config.AddCommand<InfoCommand>("info")
                .WithDescription("Versions of TorchSharp, libtorch, ML.NET and ONNX Runtime; the GLIBCXX compatibility step; threads; CUDA.");
        });
        return app;
    }
}

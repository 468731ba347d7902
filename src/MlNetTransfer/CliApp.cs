using MlNetTransfer.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MlNetTransfer.Cli;

/// <summary>The command table. The console is injected so tests drive commands in-process.</summary>
public static class CliApp
{
    public static CliRunner Create(IAnsiConsole console)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.Settings.Registrar.RegisterInstance<IAnsiConsole>(console);
            config.SetApplicationName("mlnet-transfer");
            config.SetApplicationVersion(Runtime.RuntimeReport.ProductVersion);
            config.ConfigureConsole(console);
            config.UseStrictParsing(); // an unknown option is an error, not a silently ignored argument
            config.AddCommand<TrainCommand>("train")
                .WithDescription("Fine-tune a pretrained CNN on a folder of class folders or a filename,target CSV; write model.zip and a report.")
                .WithExample("train")
                .WithExample("train", "--data", "photos/", "--arch", "resnet18_cntk", "--epochs", "5", "--out", "runs/1");
            config.AddCommand<CheckCommand>("check")
                .WithDescription("What is wrong with labelled images, before training: likely label errors, duplicates, test images copied in training, outliers.")
                .WithExample("check", "--data", "photos/", "--json", "issues.json");
            config.AddCommand<EvaluateCommand>("evaluate")
                .WithDescription("Accuracy, log-loss and per-class metrics of a model.zip on labelled images.")
                .WithExample("evaluate", "--model", "out/model.zip", "--data", "data-samples/fashion-mnist/test");
            config.AddCommand<PredictCommand>("predict")
                .WithDescription("Top-k classes with scores, and which images are unfamiliar, for an image, a folder of images or a list of them.")
                .WithExample("predict", "--model", "out/model.zip", "data-samples/fashion-mnist/test/Bag");
            config.AddCommand<ExportCommand>("export")
                .WithDescription("Write the network inside a model.zip as a standalone ONNX file.")
                .WithExample("export", "--model", "out/model.zip", "--onnx", "out/model.onnx");
            config.AddBranch("job", job =>
            {
                job.SetDescription("Hand the recipe to PyTorch's torchrun (DDP on several GPUs or machines) and bring the trained model back.");
                job.AddCommand<JobExportCommand>("export")
                    .WithDescription("Write a job folder: the image list, the starting weights with the solved classifier (safetensors), recipe.json and train_ddp.py.")
                    .WithExample("job", "export", "--data", "photos/", "--out", "job");
                job.AddCommand<JobImportCommand>("import")
                    .WithDescription("Load a job's trained.safetensors, check it against the job's logits, and write model.zip and the report as train does.")
                    .WithExample("job", "import", "job", "--out", "out");
            });
            config.AddCommand<ModelsCommand>("models")
                .WithDescription("Architectures and the weights available without a download, with their preprocessing.");
            config.AddCommand<InfoCommand>("info")
                .WithDescription("Versions of TorchSharp, libtorch, ML.NET and ONNX Runtime; the GLIBCXX compatibility step; threads; CUDA.");
        });
        return new CliRunner(app, console);
    }
}

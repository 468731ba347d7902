// The README's pipeline as a single file: dotnet run samples/pipeline.cs
// Fine-tunes the embedded ImageNet ResNet on data-samples/fashion-mnist, evaluates it on the test split, saves
// model.zip as a regular ML.NET model and predicts one image with PredictionEngine after reloading it.
#:project ../src/Estimators/MlNetTransfer.Estimators.csproj
#:property PublishAot=false
using Microsoft.ML;
using MlNetTransfer.MlNet;

var root = Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", "..", "data-samples", "fashion-mnist");
IEnumerable<ImageRow> Rows(string split) =>
    Directory.GetFiles(Path.Combine(root, split), "*.png", SearchOption.AllDirectories)
        .Select(file => new ImageRow { ImagePath = Path.GetRelativePath(root, file), Label = Path.GetFileName(Path.GetDirectoryName(file))! });

var mlContext = new MLContext(seed: 1);
var train = mlContext.Data.LoadFromEnumerable(Rows("train"));

var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    .Append(mlContext.Transforms.LoadImages("Image", root, "ImagePath"))
    .Append(mlContext.TransferTrain(new TransferTrainOptions
    {
        ImageSize = 64, Epochs = 6, Log = Console.WriteLine,
        ImagePathColumnName = "ImagePath", ImageFolder = root, // decode each file whole first: skip truncated ones
    }))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
var model = pipeline.Fit(train);

var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(mlContext.Data.LoadFromEnumerable(Rows("test"))));
Console.WriteLine($"test split: micro accuracy {metrics.MicroAccuracy:P1}, macro {metrics.MacroAccuracy:P1}, log-loss {metrics.LogLoss:0.000}");

mlContext.Model.Save(model, train.Schema, "model.zip");
var loaded = mlContext.Model.Load("model.zip", out _);
using var engine = mlContext.Model.CreatePredictionEngine<ImageRow, ImagePrediction>(loaded);
var sample = Rows("test").First();
var prediction = engine.Predict(new ImageRow { ImagePath = sample.ImagePath });
Console.WriteLine($"{sample.ImagePath}: predicted {prediction.PredictedLabel} ({prediction.Score.Max():P0}), actually {sample.Label}" +
    (prediction.Unfamiliar ? "; unfamiliar: unlike every training image, whatever its score" : ""));

class ImageRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

class ImagePrediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
    public bool Unfamiliar { get; set; } // true for an image of no class the model knows: route it to a person
}

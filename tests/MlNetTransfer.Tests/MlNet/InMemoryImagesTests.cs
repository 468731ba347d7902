using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Weights;
using MlNetTransfer.MlNet;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>Images held in memory — an upload, a database blob, a camera frame — train and predict through the same
/// pipeline as files, with no image file written and none read after the bytes are in memory: an <see cref="MLImage"/>
/// column built from bytes, TransferTrain on it, the model saved to and loaded from a stream, and a
/// PredictionEngine scoring images made from bytes.</summary>
[Collection(TorchRandomCollection.Name)]
public class InMemoryImagesTests
{
    public InMemoryImagesTests() => TorchRuntime.EnsureLoaded();

    /// <summary>An image and its class, as an app that holds images in memory has them.</summary>
    sealed class InMemoryImage
    {
        [ImageType(28, 28)]
        public MLImage? Image { get; set; }

        public string Label { get; set; } = "";
    }

    /// <summary>data-samples' PNGs as bytes, read once: from here on nothing touches an image file.</summary>
    static List<(byte[] Bytes, string Label)> Encoded(string split, int perClass) =>
        ImageRow.Samples(split, perClass).Select(r => (File.ReadAllBytes(Path.Combine(ImageRow.Root, r.ImagePath)), r.Label)).ToList();

    static List<InMemoryImage> Decoded(IEnumerable<(byte[] Bytes, string Label)> images) =>
        images.Select(i => new InMemoryImage { Image = ImageBytes.Decode(i.Bytes), Label = i.Label }).ToList();

    [Fact]
    public void Images_made_from_bytes_train_save_load_and_predict_without_a_file()
    {
        var train = Decoded(Encoded("train", perClass: 30));
        var test = Decoded(Encoded("test", perClass: 10));
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(train);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.TransferTrain(new TransferTrainOptions
            {
                Architecture = "tiny", Weights = PretrainedCatalog.Scratch, ImageSize = 16, Strategy = FineTuneStrategy.RetrainAll,
                Epochs = 8, LearningRate = 0.01, ValidationFraction = 0, ImageColumnName = "Image",
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        using var model = pipeline.Fit(data);
        using var saved = new MemoryStream();
        ml.Model.Save(model, data.Schema, saved);
        saved.Position = 0;
        var loaded = ml.Model.Load(saved, out _);
        using var engine = ml.Model.CreatePredictionEngine<InMemoryImage, ImagePrediction>(loaded);

        int right = 0;
        var byTransform = model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<float[]>("Score").ToList();
        for (int i = 0; i < test.Count; i++)
        {
            var prediction = engine.Predict(new InMemoryImage { Image = test[i].Image });
            Assert.Equal(10, prediction.Score.Length);
            Assert.True(prediction.Score.Zip(byTransform[i]).All(p => Math.Abs(p.First - p.Second) < 1e-5),
                $"image {i}: the loaded model's scores differ from the fitted pipeline's");
            if (prediction.PredictedLabel == test[i].Label) right++;
        }
        // ten classes: chance is 10 %; the tiny network from scratch on 300 images gets well past it
        Assert.True(right >= 30, $"{right} of {test.Count} test images right");
        foreach (var image in train.Concat(test)) image.Image!.Dispose();
        (loaded as IDisposable)?.Dispose();
    }
}

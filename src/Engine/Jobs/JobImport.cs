using System.Text.Json;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Strategies;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Engine.Weights;
using static TorchSharp.torch;

namespace MlNetTransfer.Engine.Jobs;

/// <summary>Brings a job's result back: the network of recipe.json with trained.safetensors loaded by name (every
/// tensor present, every shape equal), held to the job's own logits on its check batch, and history.json as the
/// training result.</summary>
public static class JobImport
{
    /// <summary>How far TorchSharp's logits may be from the job's, relative to the largest logit (at least 1).</summary>
    public const double LogitTolerance = 1e-4;

    /// <summary>The trained model (on the CPU, eval mode), with its classifier's rows in <paramref name="classOrder"/>
    /// (default: the job's label order), and how the job ran. With <paramref name="familiar"/> (the job's training
    /// images and, when there are any, its validation images), the model learns from them which images are unfamiliar
    /// (<see cref="Familiarity"/>, as a run of the recipe does once it has trained); they are read once the job's
    /// logits have been checked, at the job's image side.</summary>
    public static RecipeResult Load(string folder, IReadOnlyList<string>? classOrder = null, Action<string>? log = null,
        (IImageSource Train, IImageSource? Validation)? familiar = null) =>
        Load(folder, JobFiles.ReadRecipe(folder), classOrder, log, familiar);

    /// <inheritdoc cref="Load(string, IReadOnlyList{string}?, Action{string}?, ValueTuple{IImageSource, IImageSource}?)"/>
    public static RecipeResult Load(string folder, JobRecipe recipe, IReadOnlyList<string>? classOrder = null, Action<string>? log = null,
        (IImageSource Train, IImageSource? Validation)? familiar = null)
    {
        var architecture = ArchitectureRegistry.Get(recipe.Architecture);
        var trainedPath = Path.Combine(folder, JobFiles.Trained);
        if (!File.Exists(trainedPath))
            throw new JobFileException($"{trainedPath} is missing: run the job first ({JobFiles.Script}, see {Path.Combine(folder, JobFiles.Readme)}).");
        var preprocessing = PreprocessingOf(recipe, folder);
        var model = architecture.Create(recipe.Classes.Count);
        try
        {
            Dictionary<string, Tensor> trained;
            try
            {
                trained = StateDictFile.Read(trainedPath);
            }
            catch (WeightsFileException e)
            {
                throw new JobFileException(e.Message);
            }
            try
            {
                LoadStrict(model, trained, trainedPath);
            }
            finally
            {
                foreach (var t in trained.Values) t.Dispose();
            }
            model.eval();
            double difference = Check(model, folder);
            log?.Invoke($"{JobFiles.Trained}: TorchSharp's logits on the job's check batch agree with PyTorch's to {difference:g2}");
            if (classOrder != null) Reorder(model, architecture, recipe.Classes, classOrder);
            var strategy = Enum.Parse<FineTuneStrategy>(recipe.Strategy);
            var training = ReadHistory(folder, StrategyPlan.For(architecture, strategy).Describe(), out var ran, out var flipMeasured);
            var flip = recipe.TestTimeFlip is { } given ? TestTimeFlip.AsGiven(given)
                : flipMeasured is { } measured ? TestTimeFlip.Decided(measured)
                : FlipDecision.NotMeasured("the job measured no validation images");
            log?.Invoke($"test-time flip {flip.Reason}");
            var record = new RunRecord(architecture.Name, $"job {folder}", strategy, $"{recipe.StrategyReason} (exported job, trained by {ran})",
                recipe.ImageSize, ran, recipe.BalanceClasses, null, null, flip, Calibration.None, training with { BatchSize = recipe.BatchSize })
            {
                Familiarity = familiar is var (train, validation) ? Familiar(model, architecture, preprocessing, recipe, train, validation, log) : null,
            };
            return new RecipeResult(model, architecture, preprocessing, record);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>What the imported model compares images with to call them unfamiliar, from the job's images.</summary>
    static Familiarity? Familiar(nn.Module<Tensor, Tensor> model, Architecture architecture, Preprocessing preprocessing, JobRecipe recipe,
        IImageSource train, IImageSource? validation, Action<string>? log)
    {
        ImageTensorDataset Read(IImageSource source, string which)
        {
            try
            {
                return source.Read(recipe.ImageSize);
            }
            catch (InvalidOperationException e)
            {
                throw new JobFileException($"the job's {which} images, read to learn which images the model should call unfamiliar: {e.Message} " +
                    "Make them readable where the job lists them, or turn the unfamiliar flag off.");
            }
        }
        using var trainSet = Read(train, "training");
        using var validationSet = validation is null ? null : Read(validation, "validation");
        return TransferRecipe.Familiar(new FineTuneOptions { Seed = recipe.Seed }, cancelled: false, model, architecture, preprocessing,
            trainSet, validationSet, new TrainingContext { Log = log });
    }

    /// <summary>The preprocessing recipe.json spells out, at the job's image side.</summary>
    public static Preprocessing PreprocessingOf(JobRecipe recipe, string folder)
    {
        var p = recipe.Preprocessing;
        float[]? meanImage = null;
        int meanSide = 0;
        if (p.MeanImage is { } file)
        {
            var tensors = StateDictFile.Read(Path.Combine(folder, file));
            using var mean = tensors.TryGetValue("mean_image", out var m) ? m : throw new JobFileException($"{Path.Combine(folder, file)}: no tensor named mean_image");
            meanImage = mean.contiguous().data<float>().ToArray();
            meanSide = (int)mean.shape[^1];
        }
        var order = p.ChannelOrder == "bgr" ? ChannelOrder.Bgr : ChannelOrder.Rgb;
        return new Preprocessing(recipe.ImageSize, order, (float)p.PixelScale, p.Mean.ToArray(), p.Std.ToArray(), meanImage, meanSide);
    }

    static void LoadStrict(nn.Module<Tensor, Tensor> model, Dictionary<string, Tensor> trained, string path)
    {
        var expected = model.state_dict();
        var unknown = trained.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (unknown.Count > 0) throw new JobFileException($"{path}: {unknown.Count} tensor(s) the network does not have, e.g. {string.Join(", ", unknown.Take(3))}");
        using var _ = no_grad();
        foreach (var (name, target) in expected)
        {
            if (!trained.TryGetValue(name, out var source))
            {
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
                throw new JobFileException($"{path}: no tensor {name}");
            }
            if (!source.shape.SequenceEqual(target.shape))
                throw new JobFileException($"{path}: {name} is [{string.Join(",", source.shape)}], the network's is [{string.Join(",", target.shape)}]");
            target.copy_(source);
        }
    }

    /// <summary>TorchSharp's logits on the job's check batch against the job's own.</summary>
    static double Check(nn.Module<Tensor, Tensor> model, string folder)
    {
        var path = Path.Combine(folder, JobFiles.Check);
        if (!File.Exists(path)) throw new JobFileException($"{path} is missing: the job writes it with {JobFiles.Trained}; run it again.");
        var check = StateDictFile.Read(path);
        try
        {
            if (!check.TryGetValue("input", out var input) || !check.TryGetValue("logits", out var expected))
                throw new JobFileException($"{path}: expected the tensors input and logits");
            using var _ = no_grad();
            using var logits = model.call(input);
            if (!logits.shape.SequenceEqual(expected.shape))
                throw new JobFileException($"{path}: the job's logits are [{string.Join(",", expected.shape)}], TorchSharp's [{string.Join(",", logits.shape)}]");
            double difference = (logits - expected).abs().max().item<float>();
            double allowed = LogitTolerance * Math.Max(1, expected.abs().max().item<float>());
            if (!(difference <= allowed))
                throw new JobFileException($"{path}: TorchSharp's logits differ from the job's by {difference:g3} on its check batch " +
                    $"(allowed {allowed:g3}): {JobFiles.Trained} does not compute what the job computed. Export and run the job again with this version.");
            return difference;
        }
        finally
        {
            foreach (var t in check.Values) t.Dispose();
        }
    }

    /// <summary>Puts the classifier's rows in the caller's class order (ML.NET keys in another order than the job's).</summary>
    static void Reorder(nn.Module<Tensor, Tensor> model, Architecture architecture, IReadOnlyList<string> jobClasses, IReadOnlyList<string> order)
    {
        if (order.SequenceEqual(jobClasses)) return;
        if (order.Count != jobClasses.Count || order.Except(jobClasses).Any())
            throw new ArgumentException($"the label's classes ({string.Join(", ", order)}) are not the job's ({string.Join(", ", jobClasses)})", nameof(order));
        var index = tensor(order.Select(name => (long)jobClasses.ToList().IndexOf(name)).ToArray());
        using var _ = no_grad();
        foreach (var (name, t) in model.state_dict())
            if (architecture.IsClassifierKey(name) && t.shape[0] == jobClasses.Count)
                t.copy_(t.index_select(0, index));
    }

    static TrainingResult ReadHistory(string folder, string description, out string ran, out FlipDecision.Measurement? flip)
    {
        var path = Path.Combine(folder, JobFiles.History);
        if (!File.Exists(path)) throw new JobFileException($"{path} is missing: the job writes it with {JobFiles.Trained}; run it again.");
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = json.RootElement;
            double? Maybe(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetDouble();
            var history = root.GetProperty("epochs").EnumerateArray().Select(e => new EpochSummary(e.GetProperty("epoch").GetInt32(),
                e.GetProperty("train_loss").GetDouble(), e.GetProperty("train_accuracy").GetDouble(), Maybe(e, "validation_loss"),
                Maybe(e, "validation_accuracy"), e.GetProperty("learning_rate").GetDouble(), e.GetProperty("seconds").GetDouble(),
                e.GetProperty("images_per_second").GetDouble())).ToList();
            string? stop = root.GetProperty("stop_reason").ValueKind == JsonValueKind.Null ? null : root.GetProperty("stop_reason").GetString();
            ran = $"PyTorch {root.GetProperty("torch").GetString()}: {root.GetProperty("world_size").GetInt32()} process(es) on {root.GetProperty("device").GetString()}";
            // the validation images alone and averaged with their mirror images, at the best epoch's weights
            flip = root.TryGetProperty("test_time_flip", out var f) && f.ValueKind == JsonValueKind.Object
                ? new FlipDecision.Measurement(f.GetProperty("loss").GetDouble(), f.GetProperty("accuracy").GetDouble(),
                    f.GetProperty("averaged_loss").GetDouble(), f.GetProperty("averaged_accuracy").GetDouble())
                : null;
            return new TrainingResult(history, root.GetProperty("best_epoch").GetInt32(), root.GetProperty("stopped_early").GetBoolean(), false,
                description, null, stop, root.GetProperty("diverged").GetBoolean());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new JobFileException($"{path}: not a job history ({e.Message})");
        }
    }
}

#:project ../src/Estimators/MlNetTransfer.Estimators.csproj
#:property PublishAot=false
// The classifier solved on frozen pooled features of several ResNet stages against the last stage alone: the
// measurement behind resnet18_cntk_multilevel (bench/results/multilevel-head.md).
//   dotnet run bench/linear-probe-stages.cs -- <side> <train folder> <test folder>   (one folder per class each)
// Features of the embedded ImageNet ResNet (resnet18_cntk) at <side> px, resized as the product does (IsoCrop);
// L-BFGS softmax (the engine's LinearHead), L2 chosen by validation loss on a stratified fifth, then solved on all
// training images and scored on the test folder.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

int side = int.Parse(args[0]);
string trainDir = args[1], testDir = args[2];
torch.set_num_threads(2);
var mlContext = new MLContext(seed: 1);
(List<string> files, List<long> labels, List<string> classes) List(string dir, List<string>? classes = null)
{
    classes ??= Directory.GetDirectories(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;
    var f = new List<string>(); var l = new List<long>();
    foreach (var (c, i) in classes.Select((c, i) => (c, i)))
        foreach (var file in Directory.GetFiles(Path.Combine(dir, c)).Order()) { f.Add(file); l.Add(i); }
    return (f, l, classes);
}
var start = StartingPoint.For(new FineTuneOptions { Architecture = "resnet18_cntk" }); // its stages, whichever classifier reads them
using var model = start.CreateModel(10);
model.eval();
var children = model.named_children().ToDictionary(c => c.name, c => (nn.Module<Tensor, Tensor>)c.module);
var prep = start.Preprocessing.At(side);
Tensor Features(List<string> files)
{
    var data = mlContext.Data.LoadFromEnumerable(files.Select(f => new Row { Path = f }));
    var pipe = mlContext.Transforms.LoadImages("Image", "", "Path")
        .Append(mlContext.Transforms.ResizeImages("R", side, side, "Image", ImageResizingEstimator.ResizingKind.IsoCrop, ImageResizingEstimator.Anchor.Center))
        .Append(mlContext.Transforms.ExtractPixels("P", "R", ImagePixelExtractingEstimator.ColorBits.Rgb, ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, offsetImage: 0f, scaleImage: 1f, outputAsFloatArray: true));
    var pix = pipe.Fit(data).Transform(data).GetColumn<float[]>("P").ToArray();
    var outs = new List<Tensor>();
    using var _ = torch.inference_mode();
    for (int b = 0; b < pix.Length; b += 64)
    {
        using var scope = NewDisposeScope();
        var batch = pix.Skip(b).Take(64).ToArray();
        var x = tensor(batch.SelectMany(a => a).ToArray(), [batch.Length, 3, side, side]);
        x = prep.Normalize(x);
        foreach (var n in new[] { "conv1", "bn1", "relu", "maxpool" }) x = children[n].forward(x);
        var pooled = new List<Tensor>();
        foreach (var n in new[] { "layer1", "layer2", "layer3", "layer4" }) { x = children[n].forward(x); pooled.Add(x.mean([2, 3])); }
        outs.Add(cat(pooled, 1).MoveToOuterDisposeScope());
    }
    return cat(outs, 0);
}
var (trFiles, trLabels, classes) = List(trainDir);
var (teFiles, teLabels, _) = List(testDir, classes);
var sw = System.Diagnostics.Stopwatch.StartNew();
var trF = Features(trFiles); var teF = Features(teFiles);
Console.WriteLine($"features {trF.shape[0]}+{teF.shape[0]} × {trF.shape[1]} in {sw.Elapsed.TotalSeconds:0} s");
// stratified 80/20 validation split, fixed seed
var rnd = new Random(1);
var val = new HashSet<int>();
foreach (var g in trLabels.Select((l, i) => (l, i)).GroupBy(t => t.l))
{
    var idx = g.Select(t => t.i).OrderBy(_ => rnd.Next()).ToList();
    foreach (var i in idx.Take(Math.Max(1, (int)Math.Round(idx.Count * 0.2)))) val.Add(i);
}
var trIdx = Enumerable.Range(0, trLabels.Count).Where(i => !val.Contains(i)).Select(i => (long)i).ToArray();
var vaIdx = val.Order().Select(i => (long)i).ToArray();
var yAll = tensor(trLabels.ToArray()); var yTe = tensor(teLabels.ToArray());
var sets = new (string Name, int From, int To)[] { ("layer4", 448, 960), ("layer3+4", 192, 960), ("layer2+3+4", 64, 960), ("all", 0, 960), ("layer3", 192, 448) };
foreach (var (name, from, to) in sets)
{
    var X = trF[.., from..to]; var Xt = teF[.., from..to];
    var Xtr = X.index_select(0, tensor(trIdx)); var Xva = X.index_select(0, tensor(vaIdx));
    var ytr = yAll.index_select(0, tensor(trIdx)); var yva = yAll.index_select(0, tensor(vaIdx));
    double best = -1, bestL2 = 0, bestLoss = double.MaxValue;
    foreach (var l2 in new[] { 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0 })
    {
        using var h = LinearHead.Fit(Xtr, ytr, classes.Count, l2);
        var logits = Xva.matmul(h.Weight.t()) + h.Bias;
        var loss = nn.functional.cross_entropy(logits, yva).item<float>();
        if (loss < bestLoss) { bestLoss = loss; bestL2 = l2; best = logits.argmax(1).eq(yva).to_type(ScalarType.Float32).mean().item<float>(); }
    }
    using var final = LinearHead.Fit(X, yAll, classes.Count, bestL2);
    var acc = (Xt.matmul(final.Weight.t()) + final.Bias).argmax(1).eq(yTe).to_type(ScalarType.Float32).mean().item<float>();
    Console.WriteLine($"{name,-12} dims {to - from,4}  L2 {bestL2:g2}  val {best:P1}  test {acc:P2}");
}
class Row { public string Path { get; set; } = ""; }

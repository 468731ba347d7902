using System.IO.Compression;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>A model.zip damaged on its way (a copy cut short, an entry overwritten) is refused by `predict` and
/// `evaluate` with the file, what ML.NET could not read and what to do, exit 7 — where a damaged entry came out as
/// "unexpected InvalidOperationException: Error during class instantiation" and ML.NET's stack.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliDamagedModelTests : CliSandbox
{
    [Fact]
    public void A_damaged_model_zip_is_refused_with_the_file_and_the_reason_not_a_stack_trace()
    {
        Assert.Equal(ExitCodes.Success, Run($"train --data {Train} --epochs 1 --out {Out} {Fast}").Exit);
        var model = Path.Combine(Out, "model.zip");
        var overwritten = _temp.File("overwritten.zip");
        File.Copy(model, overwritten);
        using (var archive = ZipFile.Open(overwritten, ZipArchiveMode.Update))
        {
            var entry = archive.GetEntry("TransformerChain/Model.key")!; // the chain's own header
            entry.Delete();
            using var stream = archive.CreateEntry("TransformerChain/Model.key").Open();
            stream.Write(Enumerable.Range(0, 128).Select(i => (byte)i).ToArray());
        }
        var cut = _temp.File("cut.zip");
        File.WriteAllBytes(cut, File.ReadAllBytes(model)[..(int)(new FileInfo(model).Length / 2)]);

        var (predictExit, predicted) = Run($"predict --model {overwritten} {Path.Combine(Test, "Bag")}");
        var (evaluateExit, evaluated) = Run($"evaluate --model {overwritten} --data {Test}");
        var (cutExit, cutOutput) = Run($"predict --model {cut} {Path.Combine(Test, "Bag")}");

        foreach (var (exit, output) in new[] { (predictExit, predicted), (evaluateExit, evaluated) })
        {
            Assert.True(exit == ExitCodes.BadModel, output);
            Assert.Contains($"{overwritten} could not be loaded: One of the identified items was in an invalid format; the file is damaged", output.ReplaceLineEndings(" "));
            Assert.DoesNotContain("   at ", output);
        }
        Assert.True(cutExit == ExitCodes.BadModel, cutOutput);
        Assert.Contains("is not an ML.NET model zip", cutOutput.ReplaceLineEndings(" "));
    }
}

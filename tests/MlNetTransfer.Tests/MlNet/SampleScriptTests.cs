using System.Globalization;
using System.Text.RegularExpressions;

namespace MlNetTransfer.Tests;

/// <summary>samples/pipeline.cs, the README's API as one file-based app, run as a user runs it (`dotnet run
/// samples/pipeline.cs`): it must build against today's API and train, evaluate, save, reload and predict.</summary>
[Collection(SourceTreeBuildCollection.Name)]
[Trait(TestCategory.Trait, TestCategory.Slow)]
public class SampleScriptTests
{
    [Fact]
    public async Task The_pipeline_sample_runs_and_reports_an_accuracy_far_above_chance()
    {
        using var temp = new TempDirectory(); // its working folder: the sample writes model.zip there
        var (stdout, _) = await FileBasedApp.Run(Path.Combine(TestPaths.RepositoryRoot, "samples", "pipeline.cs"), temp.Path);

        var accuracy = Regex.Match(stdout, @"test split: micro accuracy (\d+([.,]\d)?) ?%");
        Assert.True(accuracy.Success, stdout);
        Assert.InRange(double.Parse(accuracy.Groups[1].Value.Replace(',', '.'), CultureInfo.InvariantCulture), 50, 100); // 10 classes: chance is 10 %
        Assert.Matches(@"test/\w+/\S+\.png: predicted \w+ \(\d+ ?%\), actually \w+", stdout); // after Save and Load, through PredictionEngine
        Assert.True(File.Exists(Path.Combine(temp.Path, "model.zip")));
    }
}

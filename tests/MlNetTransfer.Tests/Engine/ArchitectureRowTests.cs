using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using MlNetTransfer.Cli.Commands;
using MlNetTransfer.Engine.Architectures;
using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>An architecture row is the one place that knows a network: the job's PyTorch script builds it from the
/// row's spec alone, and the help text and the README name exactly the rows <c>models</c> prints.</summary>
public class ArchitectureRowTests
{
    [Fact]
    [Trait(TestCategory.Trait, TestCategory.Slow)]
    public void Pytorch_builds_every_row_from_its_network_spec_with_torchsharps_state_dict_names_and_shapes()
    {
        TorchRuntime.EnsureLoaded();
        var rows = ArchitectureRegistry.All.ToList();
        var specs = JsonSerializer.Serialize(rows.Select(a => a.Network), Engine.Jobs.JobRecipe.Json);
        var code = "import json, sys\nfrom recipe_parts import build_network\n" +
                   $"specs = json.loads({JsonSerializer.Serialize(specs)})\n" +
                   "print(json.dumps([{k: list(v.shape) for k, v in build_network(s, 7).state_dict().items()} for s in specs]))";
        var (exit, output) = PyTorchProcess.Code(code, Path.Combine(TestPaths.RepositoryRoot, "src", "Engine", "Jobs"));
        Assert.True(exit == 0, output);
        var built = JsonSerializer.Deserialize<List<Dictionary<string, long[]>>>(output.Trim().Split('\n')[^1])!;

        for (int i = 0; i < rows.Count; i++)
        {
            using var model = rows[i].Create(numClasses: 7);
            var expected = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
            Assert.True(expected.Keys.Order().SequenceEqual(built[i].Keys.Order()),
                $"{rows[i].Name}: keys differ: {string.Join(", ", expected.Keys.Except(built[i].Keys).Concat(built[i].Keys.Except(expected.Keys)).Take(6))}");
            foreach (var (key, shape) in expected)
                Assert.True(shape.SequenceEqual(built[i][key]), $"{rows[i].Name}: {key} is [{string.Join(",", shape)}] here, [{string.Join(",", built[i][key])}] in PyTorch");
        }
    }

    [Fact]
    public void The_help_text_and_the_readme_name_exactly_the_architectures_models_prints()
    {
        var names = ArchitectureRegistry.All.Select(a => a.Name).Order().ToArray();
        var help = typeof(RunSettings).GetProperty(nameof(RunSettings.Architecture))!.GetCustomAttribute<DescriptionAttribute>()!.Description;
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        var readmeList = Regex.Match(readme, @"`--arch` takes one of the architectures\s+`models` prints: (?<list>[^;]+);").Groups["list"].Value;

        Assert.Equal(names, Listed(help));
        Assert.Equal(names, Listed(":" + readmeList));
    }

    /// <summary>The names a list such as "…: a (note), b, c." holds after its colon, in the alphabet's order.</summary>
    static string[] Listed(string text) =>
        Regex.Replace(text[(text.IndexOf(':') + 1)..], @"\([^)]*\)", "")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(n => n.TrimEnd('.'))
            .Order().ToArray();
}

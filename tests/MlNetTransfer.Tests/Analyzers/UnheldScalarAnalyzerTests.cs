using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using MlNetTransfer.Analyzers;
using MlNetTransfer.Runtime;
using TorchSharp;

namespace MlNetTransfer.Tests;

/// <summary>
/// MNT0001 (src/Analyzers): every way this code base could make a TorchSharp Scalar that nothing holds is flagged,
/// and the held forms are not.
/// </summary>
public class UnheldScalarAnalyzerTests
{
    static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat([typeof(torch).Assembly.Location, typeof(HeldScalars).Assembly.Location])
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    static ImmutableArray<Diagnostic> Analyze(string statements)
    {
        string source = $$"""
            using MlNetTransfer.Runtime;
            using TorchSharp;
            using static TorchSharp.torch;
            static class Snippet
            {
                static void Run(Tensor a, Tensor b, double k)
                {
                    {{statements}}
                }
            }
            """;
        var compilation = CSharpCompilation.Create("Snippet", [CSharpSyntaxTree.ParseText(source)], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"the snippet does not compile: {string.Join("; ", errors)}");
        return compilation.WithAnalyzers([new UnheldScalarAnalyzer()]).GetAnalyzerDiagnosticsAsync(TestContext.Current.CancellationToken).Result;
    }

    [Theory]
    [InlineData("var c = a * 0.5;")]                      // a number operand becomes a Scalar inside TorchSharp
    [InlineData("var c = 2.0 * a;")]
    [InlineData("var c = a / k;")]
    [InlineData("var c = a % 3;")]
    [InlineData("var c = a + b;")]                        // the alpha of 1 inside add
    [InlineData("a += b;")]
    [InlineData("var c = 1 - a;")]                        // -a + 1
    [InlineData("a.add_(b);")]
    [InlineData("var c = a.addcdiv(a, b);")]
    [InlineData("var c = a.square();")]
    [InlineData("var c = a.clamp_min(1e-12);")]           // a number converted to the Scalar parameter
    [InlineData("var c = a.mul(k);")]
    [InlineData("var c = arange(10);")]
    [InlineData("var c = a.masked_fill(a.gt(b), -2);")]
    [InlineData("var c = a.mul(k.ToScalar());")]          // a Scalar made and dropped in the same breath
    public void Flags_a_scalar_that_nothing_holds(string statement)
    {
        var diagnostic = Assert.Single(Analyze(statement));
        Assert.Equal(UnheldScalarAnalyzer.Id, diagnostic.Id);
        Assert.Contains("nothing holds", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("var c = a.Plus(b).Times(0.5).DividedBy(k).OneMinus().AtLeast(1e-12).Clamped(0, 1);")]
    [InlineData("var c = a - b; var d = a * b; var e = a / b; var f = -a;")] // no Scalar made
    [InlineData("a.PlusInPlace(b); var c = HeldScalars.Range(0, 10);")]
    [InlineData("var c = a.add(b, HeldScalars.One);")]
    [InlineData("using var s = k.ToScalar(); var c = a.mul(s).addcdiv(a, b, s);")]
    [InlineData("using (var s = k.ToScalar()) a.add_(b, s);")]
    public void Leaves_held_scalars_alone(string statements) => Assert.Empty(Analyze(statements));

    [Fact]
    public void Nested_forms_are_each_flagged_where_they_are()
    {
        var diagnostics = Analyze("var c = a * 0.299f + b * 0.587f;");

        Assert.Equal(3, diagnostics.Length); // the two products and the sum
        Assert.All(diagnostics, d => Assert.Equal(UnheldScalarAnalyzer.Id, d.Id));
    }
}

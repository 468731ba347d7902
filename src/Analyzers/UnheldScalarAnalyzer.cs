using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MlNetTransfer.Analyzers;

/// <summary>
/// MNT0001: a TorchSharp <c>Scalar</c> that nothing holds while libtorch reads it. TorchSharp 0.107 leaves such a
/// Scalar to its finalizer, and the JIT ends its life once its handle is read, so a garbage collection another
/// thread starts during the native call frees it mid-read (src/Engine/Runtime/HeldScalars.cs). Flags the four ways
/// code makes one: a number converted to <c>Scalar</c>; <c>ToScalar()</c> passed straight to a call; a
/// <c>Tensor</c> operator that takes a number or adds (<c>a + b</c> passes an alpha of 1); and the TorchSharp methods
/// that make one inside (<c>add(b)</c>, <c>addcdiv(a, b)</c>, <c>square()</c>, <c>celu()</c>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnheldScalarAnalyzer : DiagnosticAnalyzer
{
    public const string Id = "MNT0001";

    public static readonly DiagnosticDescriptor Rule = new(
        Id,
        "TorchSharp Scalar that nothing holds",
        "{0} makes a TorchSharp Scalar that nothing holds: the finalizer can free it while libtorch reads it; use HeldScalars or 'using var s = value.ToScalar();'",
        "Reliability",
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "TorchSharp 0.107 leaves implicitly made Scalars to the finalizer; a collection during the native call frees them mid-read.");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterOperationAction(Conversion, OperationKind.Conversion);
        context.RegisterOperationAction(Operator, OperationKind.Binary, OperationKind.CompoundAssignment);
        context.RegisterOperationAction(Invocation, OperationKind.Invocation);
    }

    static void Conversion(OperationAnalysisContext context)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (IsScalar(conversion.OperatorMethod?.ContainingType))
            Report(context, $"converting '{conversion.Operand.Syntax}'");
    }

    static void Operator(OperationAnalysisContext context)
    {
        var method = context.Operation switch
        {
            IBinaryOperation binary => binary.OperatorMethod,
            ICompoundAssignmentOperation compound => compound.OperatorMethod,
            _ => null,
        };
        if (method == null || !IsTensor(method.ContainingType)) return;
        bool takesNumber = method.Parameters.Any(p => p.Type.SpecialType is >= SpecialType.System_Boolean and <= SpecialType.System_Double);
        bool addsWithAlpha = method.Name == "op_Addition"
            || (method.Name == "op_Subtraction" && IsScalar(method.Parameters[0].Type as INamedTypeSymbol)); // s - t is -t + s
        if (takesNumber || addsWithAlpha) Report(context, $"'{context.Operation.Syntax}'");
    }

    static void Invocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (method.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", StringComparison.Ordinal) != true) return;
        if (method.Name == "ToScalar" && invocation.Parent is IArgumentOperation)
        {
            Report(context, $"'{invocation.Syntax}' passed straight to a call");
            return;
        }
        bool inside = method.Name switch
        {
            "add" or "add_" => !method.Parameters.Any(p => p.Name == "alpha"),
            "addcdiv" or "addcdiv_" or "addcmul" or "addcmul_" => !method.Parameters.Any(p => p.Name == "value"),
            "square" or "square_" => true,
            "celu" or "celu_" => !method.Parameters.Any(p => p.Name == "alpha"),
            _ => false,
        };
        if (inside) Report(context, $"'{method.Name}' without its alpha or value");
    }

    static void Report(OperationAnalysisContext context, string what) =>
        context.ReportDiagnostic(Diagnostic.Create(Rule, context.Operation.Syntax.GetLocation(), what));

    static bool IsScalar(INamedTypeSymbol? type) =>
        type?.Name == "Scalar" && type.ContainingNamespace?.ToDisplayString() == "TorchSharp";

    static bool IsTensor(INamedTypeSymbol? type) =>
        type?.Name == "Tensor" && type.ContainingType?.Name == "torch" && type.ContainingNamespace?.ToDisplayString() == "TorchSharp";
}

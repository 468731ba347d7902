using System.Runtime.InteropServices;

namespace MlNetTransfer.Runtime;

/// <summary>
/// libtorch's C++ log threshold. libtorch writes developer warnings to stderr through its own logger — on a CPU that
/// NNPACK does not support, "Could not initialize NNPACK! Reason: Unsupported hardware." once per convolution shape,
/// 21 lines before a ResNet's first epoch — which say nothing a user can act on (convolutions take another path). The
/// threshold is libc10's <c>FLAGS_caffe2_log_level</c>; PyTorch sets it from <c>TORCH_CPP_LOG_LEVEL</c> when Python
/// starts, which a libtorch host never does. So: errors only, unless <c>TORCH_CPP_LOG_LEVEL</c> asks for more or less
/// (INFO or 0, WARNING or 1, ERROR or 2, FATAL or 3), as in PyTorch.
/// </summary>
public static class LibTorchLogLevel
{
    public const string EnvironmentVariable = "TORCH_CPP_LOG_LEVEL";
    const string FlagName = "FLAGS_caffe2_log_level";
    const int Error = 2;

    /// <summary>The level for a value of <see cref="EnvironmentVariable"/> (null or unknown: errors only).</summary>
    public static int LevelFor(string? setting) => setting?.Trim().ToUpperInvariant() switch
    {
        "0" or "INFO" => 0,
        "1" or "WARNING" => 1,
        "3" or "FATAL" => 3,
        _ => Error,
    };

    /// <summary>Sets the threshold in the loaded libc10; false where that library or its flag is not found (the
    /// warnings then print, nothing else changes).</summary>
    public static bool Apply() => Apply(_shown ?? LevelFor(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    static int? _shown;

    /// <summary>Warnings and errors from now on, whatever <see cref="EnvironmentVariable"/> says (the CLI's
    /// <c>--verbose</c>): at once if libtorch is loaded, else when it loads.</summary>
    public static void ShowWarnings()
    {
        _shown = 1;
        Apply(1);
    }

    static bool Apply(int level)
    {
        if (Flag() is not { } flag) return false;
        Marshal.WriteInt32(flag, level);
        return true;
    }

    /// <summary>libc10's threshold variable in the loaded library, or null where it is not found.</summary>
    static IntPtr? Flag() =>
        OneDnnGuard.LoadedLibrary("libc10.so") is { } library && NativeLibrary.TryLoad(library, out var handle)
            && NativeLibrary.TryGetExport(handle, FlagName, out var flag) ? flag : null;

    /// <summary>For <c>info</c>: the threshold in force and how to change it.</summary>
    public static string Describe()
    {
        TorchRuntime.EnsureLoaded();
        return Current() switch
        {
            null => "libc10's log level not found: libtorch's warnings print as it decides",
            0 => $"everything ({EnvironmentVariable}={Environment.GetEnvironmentVariable(EnvironmentVariable)})",
            1 when _shown != null => "warnings and errors (--verbose)",
            1 => $"warnings and errors ({EnvironmentVariable}={Environment.GetEnvironmentVariable(EnvironmentVariable)})",
            2 => $"errors only ({EnvironmentVariable}=WARNING shows libtorch's warnings)",
            var level => $"fatal errors only ({EnvironmentVariable}={Environment.GetEnvironmentVariable(EnvironmentVariable)}, level {level})",
        };
    }

    /// <summary>The threshold in force, or null where libc10's flag is not found.</summary>
    internal static int? Current() => Flag() is { } flag ? Marshal.ReadInt32(flag) : null;
}

using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace MlNetTransfer.Runtime;

/// <summary>
/// Keeps libtorch's oneDNN convolutions off CPUs whose cache hierarchy cpuid does not describe. oneDNN sizes its
/// brgemm convolution blocks from the caches cpuid reports (leaf 4 on Intel, 0x8000001D on AMD); some virtual machines
/// leave that leaf zero (seen on an AMD EPYC Firecracker VM, with no cache in /sys either, where libtorch also
/// says "Could not initialize NNPACK! Reason: Unsupported hardware"), and resnet50's 1x1 convolutions then divide by
/// zero inside oneDNN: SIGFPE, the process dies (measured there: resnet50 at 64, 112 and 224 px, batches of 4 and 32,
/// every time; resnet18, resnet34, mobilenet_v2, alexnet, vgg16 and the embedded ResNet never). So on such a CPU,
/// once a process builds an architecture that crashes there (<see cref="Engage"/>), its oneDNN path is switched off
/// for good (<c>at::Context::setUserEnabledMkldnn(false)</c>, libtorch's own switch, which TorchSharp does not
/// expose) and convolutions take ATen's portable path: about 2.3× slower (resnet18 there: 27 img/s against 63), but
/// the network runs. Other architectures keep oneDNN but train channels-first there: its channels-last convolutions
/// compute wrong values on such a CPU without crashing (<see cref="BreaksChannelsLast"/>). Elsewhere nothing changes.
/// </summary>
public static class OneDnnGuard
{
    /// <summary>"on" keeps oneDNN whatever the CPU says, "off" switches it off anywhere.</summary>
    public const string EnvironmentVariable = "MLNETTRANSFER_ONEDNN";

    /// <summary>Whether cpuid leaves the cache hierarchy that oneDNN reads undescribed.</summary>
    public static bool CacheHierarchyMissing { get; } = DetectMissingCaches();

    /// <summary>Whether oneDNN's channels-last (NHWC) convolutions compute wrong values here: on such a CPU, with oneDNN
    /// on, a random resnet18's logits came out 8.6 % off and its gradients 94 % off in NHWC, while NCHW matched a
    /// float64 reference to 1e-5 (blocks sized from zero-byte caches skip part of the work without crashing). The
    /// engine then keeps weights and batches channels-first (<see cref="Engine.Training.ChannelsLast.Applies"/>).</summary>
    public static bool BreaksChannelsLast => CacheHierarchyMissing; // a fact of the CPU: the same answer before and after a switch-off

    /// <summary>Whether this process switched oneDNN off (after <see cref="TorchRuntime.EnsureLoaded"/>).</summary>
    public static bool SwitchedOff { get; private set; }

    /// <summary>Why oneDNN is on or off here, for `info` and the logs.</summary>
    public static string Describe() =>
        SwitchedOff
            ? (Environment.GetEnvironmentVariable(EnvironmentVariable) == "off" ? $"off ({EnvironmentVariable}=off)"
                : "off: cpuid describes no caches, which crashes oneDNN's convolutions of a network this process built (ATen's " +
                  $"convolutions instead; {EnvironmentVariable}=on keeps it)")
            : CacheHierarchyMissing ? "on, channels-first (cpuid describes no caches: its channels-last convolutions compute wrong values; switched off if resnet50 is built)" : "on";

    static readonly object Gate = new();

    /// <summary>Switches oneDNN off where asked (<see cref="EnvironmentVariable"/>=off); called once libtorch is loaded.</summary>
    internal static void Apply()
    {
        // libtorch is loading right now (TorchRuntime.EnsureLoaded calls this): SwitchOff's own EnsureLoaded would call
        // back here, for ever
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) == "off") SwitchOff(ensureLoaded: false);
    }

    /// <summary>Called before a network whose convolutions crash oneDNN on such CPUs is built: switches oneDNN off
    /// for the rest of the process when this CPU is one (unless <see cref="EnvironmentVariable"/>=on).</summary>
    public static void Engage()
    {
        if (CacheHierarchyMissing && Environment.GetEnvironmentVariable(EnvironmentVariable) != "on") SwitchOff();
    }

    static void SwitchOff(bool ensureLoaded = true)
    {
        lock (Gate)
        {
            if (SwitchedOff) return;
            if (ensureLoaded) TorchRuntime.EnsureLoaded();
            SetUserEnabledMkldnn(false);
            SwitchedOff = true;
        }
    }

    static bool DetectMissingCaches()
    {
        if (!X86Base.IsSupported) return false; // oneDNN's x64 paths only
        var (_, b, c, d) = X86Base.CpuId(0, 0);
        var vendor = string.Concat(new[] { b, d, c }.Select(r => System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes(r))));
        // oneDNN's Xbyak reads AMD's caches from leaf 0x8000001D (subleaves 0, 2, 3) whether or not the CPU flags the
        // leaf (TOPOEXT): here both were missing, and the caches came out as three levels of zero bytes
        if (vendor == "AuthenticAMD" || vendor == "HygonGenuine")
            return (X86Base.CpuId(unchecked((int)0x8000001D), 0).Eax & 0x1F) == 0;
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        return vendor == "GenuineIntel" && maxLeaf >= 4 && (X86Base.CpuId(4, 0).Eax & 0x1F) == 0;
    }

    /// <summary><c>at::globalContext().setUserEnabledMkldnn(enabled)</c> in the loaded libtorch_cpu.</summary>
    static unsafe void SetUserEnabledMkldnn(bool enabled)
    {
        var library = LoadedLibrary("libtorch_cpu.so") ?? throw new TorchLoadException("libtorch_cpu.so is not loaded: cannot switch oneDNN off");
        var handle = NativeLibrary.Load(library);
        var context = ((delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(handle, "_ZN2at13globalContextEv"))();
        ((delegate* unmanaged<IntPtr, byte, void>)NativeLibrary.GetExport(handle, "_ZN2at7Context20setUserEnabledMkldnnEb"))(context, enabled ? (byte)1 : (byte)0);
    }

    /// <summary>The path of the native library <paramref name="fileName"/> mapped into this process, if any.</summary>
    internal static string? LoadedLibrary(string fileName) =>
        !File.Exists("/proc/self/maps") ? null
            : File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/') is var i and >= 0 ? line[i..].Trim() : null)
                .FirstOrDefault(path => path != null && Path.GetFileName(path) == fileName);
}

using MlNetTransfer.Runtime;

namespace MlNetTransfer.Tests;

/// <summary>A PyTorch install's libtorch instead of the NuGet one: the checks that keep a wrong one out.</summary>
public class ExternalLibTorchTests
{
    static string FakeInstall(TempDirectory temp, string version)
    {
        var lib = Directory.CreateDirectory(temp.File("torch/lib")).FullName;
        File.WriteAllText(Path.Combine(lib, "libtorch_cpu.so"), "");
        File.WriteAllText(temp.File("torch/version.py"), $"__version__ = '{version}'\ndebug = False\n");
        return lib;
    }

    [Fact]
    public void The_required_version_is_the_one_torchsharp_was_built_against()
    {
        TorchRuntime.EnsureLoaded();

        Assert.Equal(ExternalLibTorch.RequiredVersion, TorchSharp.torch.NormalizeNuGetVersion(TorchSharp.torch.__version__));
    }

    [Fact]
    public void The_version_is_read_from_the_installs_version_py()
    {
        using var temp = new TempDirectory();

        Assert.Equal("2.10.0+cu128", ExternalLibTorch.ReadVersion(FakeInstall(temp, "2.10.0+cu128")));
    }

    [Fact]
    public void A_version_mismatch_names_both_versions_and_the_fix()
    {
        using var temp = new TempDirectory();
        var lib = FakeInstall(temp, "1.13.0a0");

        var e = Assert.Throws<TorchLoadException>(() => ExternalLibTorch.Validate(lib, temp.Path));

        Assert.Contains("1.13.0a0", e.Message);
        Assert.Contains("2.10.0", e.Message);
        Assert.Contains(ExternalLibTorch.EnvironmentVariable, e.Message);
        Assert.Contains(ExternalLibTorch.AnyVersionVariable + "=1", e.Message);
    }

    [Fact]
    public void Another_version_is_accepted_only_when_asked_for()
    {
        using var temp = new TempDirectory();
        var lib = FakeInstall(temp, "2.11.0+cu130");

        Assert.Throws<TorchLoadException>(() => ExternalLibTorch.Validate(lib, temp.Path));
        ExternalLibTorch.Validate(lib, temp.Path, anyVersion: true); // no libtorch of its own in temp.Path: accepted
        // asking for any version does not lift the other checks
        var e = Assert.Throws<TorchLoadException>(() => ExternalLibTorch.Validate(lib, AppContext.BaseDirectory, anyVersion: true));
        Assert.Contains("MlNetTransferTorchFlavour=external", e.Message);
    }

    [Fact]
    public void A_matching_install_is_refused_while_the_app_bundles_its_own_libtorch()
    {
        using var temp = new TempDirectory();
        var lib = FakeInstall(temp, ExternalLibTorch.RequiredVersion + "+cpu");

        // this test run's output carries NuGet's libtorch, as every default (cpu flavour) build does
        var e = Assert.Throws<TorchLoadException>(() => ExternalLibTorch.Validate(lib, AppContext.BaseDirectory));

        Assert.Contains("MlNetTransferTorchFlavour=external", e.Message);
    }

    [Fact]
    public void A_folder_without_libtorch_says_what_to_point_at()
    {
        using var temp = new TempDirectory();

        var e = Assert.Throws<TorchLoadException>(() => ExternalLibTorch.Validate(temp.Path, temp.Path));

        Assert.Contains("torch/lib", e.Message);
    }
}

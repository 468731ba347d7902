using System.Diagnostics;
using MlNetTransfer.Cli;

namespace MlNetTransfer.Tests;

/// <summary>The temporary-folder sweep every command runs first: files of ended runs go, a live run's folder stays
/// (its lock file, not its process id, says it lives), and run folders are named after their process.</summary>
[Collection(TorchRandomCollection.Name)]
public class CliStaleFilesTests : CliSandbox
{
    [Fact]
    public void Files_of_ended_runs_are_removed_and_files_of_running_ones_kept()
    {
        using var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        int dead = ended.Id, alive = Environment.ProcessId;
        var folder = Directory.CreateDirectory(_temp.File("tmp")).FullName;
        string[] stale = [$".model.zip.{dead}-{Guid.NewGuid():N}.tmp", $"mlnettransfer-{dead}-{Guid.NewGuid():N}.onnx", $"mlnettransfer-{dead}-work",
            $"mlnettransfer-{dead}-{Guid.NewGuid():N}.accuracy"]; // a benchmark's run folder
        string[] kept = [$".model.zip.{alive}-{Guid.NewGuid():N}.tmp", $"mlnettransfer-{alive}-work", $"mlnettransfer-{alive}-{Guid.NewGuid():N}.accuracy",
            "mlnettransfer-notes.txt", "mlnettransfer-accuracy-x1Yz", "model.zip"];
        static bool IsFolder(string name) => name.EndsWith("-work") || name.EndsWith(".accuracy") || name.StartsWith("mlnettransfer-accuracy-");
        foreach (var name in stale.Concat(kept))
            if (IsFolder(name)) File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(folder, name)).FullName, "x.onnx"), "x");
            else File.WriteAllText(Path.Combine(folder, name), "x");

        var removed = StaleFiles.Clean(folder);

        Assert.Equal(stale.Order(), removed.Select(Path.GetFileName).Order());
        Assert.All(kept, name => Assert.True(File.Exists(Path.Combine(folder, name)) || Directory.Exists(Path.Combine(folder, name)), name));
    }

    [Fact]
    public void A_folder_whose_process_id_means_nothing_here_is_kept_while_its_lock_file_is_held_by_a_live_process()
    {
        // a run in another PID namespace sharing the temp folder (two containers of a pod on one emptyDir): its id is
        // no process here, yet it runs; its folder's lock file is held, and flock(2) crosses namespaces
        using var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        ended.WaitForExit();
        var folder = Directory.CreateDirectory(_temp.File("shared-tmp")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(folder, $"mlnettransfer-{ended.Id}-work")).FullName;
        File.WriteAllText(Path.Combine(work, "model.onnx"), "the other run's network");
        var alive = Path.Combine(work, StaleFiles.AliveFileName);
        using var holder = Process.Start(new ProcessStartInfo("python3", ["-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)", alive])
        { RedirectStandardOutput = true, UseShellExecute = false })!;
        Assert.Equal("locked", holder.StandardOutput.ReadLine());

        var whileHeld = StaleFiles.Clean(folder);
        holder.Kill();
        holder.WaitForExit();
        var afterwards = StaleFiles.Clean(folder);

        Assert.Empty(whileHeld);
        Assert.Equal([work], afterwards);
        Assert.False(Directory.Exists(work));
    }

    [Fact]
    public void A_run_folder_is_named_after_its_process_and_its_purpose_must_be_a_plain_word()
    {
        var folder = StaleFiles.CreateRunFolder("testrun");
        try
        {
            Assert.True(Directory.Exists(folder));
            Assert.Equal(Path.GetFullPath(Path.GetTempPath()), Path.GetFullPath(Path.GetDirectoryName(folder)! + Path.DirectorySeparatorChar));
            Assert.Matches($"^mlnettransfer-{Environment.ProcessId}-[0-9a-f]{{32}}\\.testrun$", Path.GetFileName(folder));
            Assert.DoesNotContain(folder, StaleFiles.Clean(Path.GetTempPath())); // its process is running: kept
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        Assert.Equal("purpose", Assert.Throws<ArgumentException>(() => StaleFiles.CreateRunFolder("../x")).ParamName);
    }
}

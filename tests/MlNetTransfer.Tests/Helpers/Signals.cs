using System.Runtime.InteropServices;

namespace MlNetTransfer.Tests;

/// <summary>Signals to child processes, as a service manager sends them.</summary>
public static class Signals
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    const int Sigterm = 15;

    /// <summary>SIGTERM: what <c>docker stop</c>, Kubernetes and systemd send; true when it was delivered.</summary>
    public static bool Terminate(int pid) => Kill(pid, Sigterm) == 0;
}

using System.Runtime.InteropServices;

namespace MlNetTransfer.Tests;

/// <summary>Signals to child processes, as a service manager, a terminal or the kernel sends them.</summary>
public static class Signals
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Send(int pid, int signal);

    const int Sighup = 1, Sigkill = 9, Sigterm = 15;

    /// <summary>SIGTERM: what <c>docker stop</c>, Kubernetes and systemd send; true when it was delivered.</summary>
    public static bool Terminate(int pid) => Send(pid, Sigterm) == 0;

    /// <summary>SIGHUP: what a process gets when its terminal or SSH session closes; true when it was delivered.</summary>
    public static bool HangUp(int pid) => Send(pid, Sighup) == 0;

    /// <summary>SIGKILL: the end nothing can catch (kill -9, the kernel's out-of-memory killer); true when it was delivered.</summary>
    public static bool Kill(int pid) => Send(pid, Sigkill) == 0;
}

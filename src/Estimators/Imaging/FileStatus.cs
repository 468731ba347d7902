using System.Runtime.InteropServices;

namespace MlNetTransfer.Imaging;

/// <summary>
/// What stat(2) says of a path (links followed) that .NET does not: the kind of file — a FIFO, socket or device
/// opened as an image blocks for ever or reads without end — and the identity a cache can trust (device, inode,
/// change time, which a copy or an edit always moves, unlike the modification time a tool may set back). Linux on
/// x64 (glibc's struct stat); null elsewhere or when the path cannot be stat'ed.
/// </summary>
public readonly record struct FileStatus(uint Mode, ulong Device, ulong Inode, long Size, long ChangedSeconds, long ChangedNanoseconds)
{
    const uint TypeMask = 0xF000, Regular = 0x8000, Directory = 0x4000;

    /// <summary>A plain file (not a FIFO, socket, device or folder).</summary>
    public bool IsRegular => (Mode & TypeMask) == Regular;

    public bool IsDirectory => (Mode & TypeMask) == Directory;

    /// <summary>The kind in a word, for messages: "a FIFO", "a socket", "a character device" …</summary>
    public string Kind => (Mode & TypeMask) switch
    {
        Regular => "a file",
        Directory => "a folder",
        0x1000 => "a FIFO (named pipe)",
        0xC000 => "a socket",
        0x2000 => "a character device",
        0x6000 => "a block device",
        _ => "not a plain file",
    };

    /// <summary>The status of <paramref name="path"/>, or null (not Linux x64, or stat failed: missing, no access).</summary>
    public static FileStatus? Of(string path)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        Span<byte> buffer = stackalloc byte[256]; // struct stat is 144 bytes on x86_64
        int result;
        unsafe
        {
            fixed (byte* stat = buffer)
            {
                try
                {
                    result = StatNew(path, stat);
                }
                catch (EntryPointNotFoundException)
                {
                    result = StatOld(1, path, stat); // glibc before 2.33 exports stat only as __xstat (_STAT_VER 1)
                }
            }
        }
        if (result != 0) return null;
        // x86_64 struct stat: st_dev 0, st_ino 8, st_nlink 16, st_mode 24, st_uid 28, st_gid 32, st_rdev 40,
        // st_size 48, st_blksize 56, st_blocks 64, st_atim 72, st_mtim 88, st_ctim 104
        return new FileStatus(BitConverter.ToUInt32(buffer[24..]), BitConverter.ToUInt64(buffer[..8]), BitConverter.ToUInt64(buffer[8..]),
            BitConverter.ToInt64(buffer[48..]), BitConverter.ToInt64(buffer[104..]), BitConverter.ToInt64(buffer[112..]));
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    static extern unsafe int StatNew([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* stat);

    [DllImport("libc", EntryPoint = "__xstat", SetLastError = true)]
    static extern unsafe int StatOld(int version, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* stat);
}

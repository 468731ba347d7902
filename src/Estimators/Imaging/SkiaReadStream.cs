using SkiaSharp;

namespace MlNetTransfer.Imaging;

/// <summary>
/// A seekable .NET stream as Skia's codecs read it, in place of SkiaSharp's own wrapper (the SKManagedStream that
/// <c>SKCodec.Create(Stream)</c> makes), which a hostile file turns against the process: it rents a managed buffer as
/// large as each read or skip a codec asks for — a 27 KB BMP whose header puts its pixels 1.6 GB into the file made
/// one decode allocate 1.6 GB — and converts that size to an int with an overflow check, so a header that says 4 GB
/// threw inside Skia's callback, where an exception ends the process (as any exception of the stream's own did). Here
/// a read copies straight into Skia's buffer a megabyte at a time, a skip moves the position, and no callback throws:
/// what fails reads as the end of the data, which the codec reports as incomplete input, and is kept in
/// <see cref="Failure"/>.
/// </summary>
internal sealed class SkiaReadStream : SKAbstractManagedStream
{
    const int Chunk = 1 << 20;
    readonly Stream _stream;
    readonly long _length; // once: a file's length is a system call, and codecs read a few KB at a time

    SkiaReadStream(Stream stream) => (_stream, _length) = (stream, stream.Length);

    /// <summary>A codec's stream over <paramref name="stream"/>, which must seek; the caller keeps owning it.</summary>
    public static SkiaReadStream Over(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("the stream must seek; copy it to a MemoryStream first", nameof(stream));
        return new SkiaReadStream(stream);
    }

    /// <summary>What the stream threw while the codec read it (a failing disk, a closed blob), or null.</summary>
    public Exception? Failure { get; private set; }

    protected override IntPtr OnRead(IntPtr buffer, IntPtr size) => (IntPtr)Transfer(buffer, (nuint)size, peek: false);

    protected override IntPtr OnPeek(IntPtr buffer, IntPtr size) => (IntPtr)Transfer(buffer, (nuint)size, peek: true);

    /// <summary>Copies up to <paramref name="size"/> bytes into <paramref name="buffer"/> (none: a skip), never more
    /// than the stream has left; a peek puts the position back.</summary>
    unsafe long Transfer(IntPtr buffer, nuint size, bool peek)
    {
        try
        {
            long start = _stream.Position, count = (long)Math.Min(size, (nuint)Math.Max(0, _length - start));
            if (buffer == IntPtr.Zero)
            {
                if (!peek) _stream.Position = start + count;
                return count;
            }
            long done = 0;
            for (int read = -1; done < count && read != 0; done += read)
                read = _stream.Read(new Span<byte>((byte*)buffer + done, (int)Math.Min(count - done, Chunk)));
            if (peek) _stream.Position = start;
            return done;
        }
        catch (Exception e)
        {
            return Failed(e, 0);
        }
    }

    protected override bool OnIsAtEnd() => Guarded(() => _stream.Position >= _length, true);

    protected override bool OnHasPosition() => true;

    protected override bool OnHasLength() => true;

    protected override bool OnRewind() => Guarded(() => { _stream.Position = 0; return true; }, false);

    protected override IntPtr OnGetPosition() => Guarded(() => (IntPtr)_stream.Position, IntPtr.Zero);

    protected override IntPtr OnGetLength() => Guarded(() => (IntPtr)_length, IntPtr.Zero);

    /// <summary>Skia's seek: past the end stops at the end.</summary>
    protected override bool OnSeek(IntPtr position) =>
        Guarded(() => { _stream.Position = Math.Clamp((long)position, 0, _length); return true; }, false);

    protected override bool OnMove(int offset) =>
        Guarded(() => { _stream.Position = Math.Clamp(_stream.Position + offset, 0, _length); return true; }, false);

    /// <summary>No second stream over the same data (the formats decoded here do not ask for one).</summary>
    protected override IntPtr OnCreateNew() => IntPtr.Zero;

    T Guarded<T>(Func<T> call, T onFailure)
    {
        try
        {
            return call();
        }
        catch (Exception e)
        {
            return Failed(e, onFailure);
        }
    }

    T Failed<T>(Exception e, T value)
    {
        Failure ??= e;
        return value;
    }
}

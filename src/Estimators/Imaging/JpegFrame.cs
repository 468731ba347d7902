namespace MlNetTransfer.Imaging;

/// <summary>What a JPEG's frame header says about the memory its decode holds: a progressive frame makes libjpeg keep
/// every DCT coefficient of the whole image (2 bytes each: 3 bytes a pixel at 4:2:0, 6 unsubsampled) until its last
/// scan, at any scale it decodes at.</summary>
public static class JpegFrame
{
    /// <summary>How many bytes of a file's start are read to find its frame header (EXIF and ICC segments come first).</summary>
    public const int HeadBytes = 256 * 1024;

    /// <summary>The bytes libjpeg's coefficient buffer takes for the JPEG whose first bytes are <paramref name="head"/>:
    /// 0 for a sequential frame (it decodes a row of blocks at a time); for a progressive one (SOF2, 6, 10, 14) every
    /// component's blocks × 64 × 2; null when the frame header is not within the bytes or they do not read as a JPEG's.</summary>
    public static long? CoefficientBytes(ReadOnlySpan<byte> head)
    {
        if (head.Length < 2 || head[0] != 0xFF || head[1] != 0xD8) return null;
        for (int i = 2; i + 3 < head.Length;)
        {
            if (head[i] != 0xFF) return null;
            byte marker = head[i + 1];
            if (marker == 0xFF) { i++; continue; } // fill byte
            int length = head[i + 2] << 8 | head[i + 3];
            bool frame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
            if (frame && marker is not (0xC2 or 0xC6 or 0xCA or 0xCE)) return 0;
            if (frame) return length >= 8 && i + 2 + length <= head.Length ? Coefficients(head.Slice(i + 4, length - 2)) : null; // a frame header holds 8 bytes at least
            if (marker is 0xDA or 0xD9) return null; // a scan or the end before any frame
            i += 2 + length;
        }
        return null;
    }

    /// <summary>Blocks × 64 × 2 bytes over the frame's components, from its header (precision, height, width,
    /// components with their sampling factors).</summary>
    static long? Coefficients(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 6) return null;
        int height = frame[1] << 8 | frame[2], width = frame[3] << 8 | frame[4], count = frame[5];
        if (frame.Length < 6 + 3 * count || count == 0) return null;
        int hMax = 1, vMax = 1;
        for (int c = 0; c < count; c++) { hMax = Math.Max(hMax, frame[7 + 3 * c] >> 4); vMax = Math.Max(vMax, frame[7 + 3 * c] & 15); }
        long blocks = 0;
        for (int c = 0; c < count; c++)
        {
            int h = Math.Max(1, frame[7 + 3 * c] >> 4), v = Math.Max(1, frame[7 + 3 * c] & 15);
            blocks += (((long)width * h + 8L * hMax - 1) / (8L * hMax) + h) * (((long)height * v + 8L * vMax - 1) / (8L * vMax) + v);
        }
        return blocks * 64 * 2;
    }
}

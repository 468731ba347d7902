using System.IO.Compression;

namespace MlNetTransfer.Tests;

/// <summary>Image files an attacker or a careless user brings: decompression bombs, built without ever holding
/// their pixels.</summary>
internal static class HostileImages
{
    /// <summary>A PNG that is a header: its IHDR claims <paramref name="width"/> × <paramref name="height"/> grey
    /// pixels, its one IDAT holds a few bytes (177 bytes for 50 000 × 50 000).</summary>
    public static byte[] PngHeaderOnly(int width, int height) =>
        Png(width, height, [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);

    /// <summary>A real, whole grey PNG of <paramref name="side"/> × <paramref name="side"/> black pixels: every row
    /// compresses to almost nothing (30 000 × 30 000 is about 875 KB on disk, 3.6 GB decoded as RGBA).</summary>
    public static void WriteBlankGreyPng(string path, int side)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[side + 1]; // filter byte 0, then the row's grey values
            for (int y = 0; y < side; y++) zlib.Write(row);
        }
        File.WriteAllBytes(path, Png(side, side, compressed.ToArray()));
    }

    /// <summary>A whole 24-bit BMP of <paramref name="width"/> × <paramref name="height"/> pixels (a gradient) whose
    /// file header says its pixels start at <paramref name="pixelsAt"/>: a skip of that many bytes for the decoder
    /// (54, right after the headers, is the honest value).</summary>
    public static byte[] Bmp(int width, int height, uint pixelsAt = 54)
    {
        int row = (3 * width + 3) / 4 * 4;
        var pixels = new byte[row * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < 3 * width; x++)
                pixels[y * row + x] = (byte)(x * 5 + y * 11);
        return [(byte)'B', (byte)'M', .. LittleEndian(54 + pixels.Length), 0, 0, 0, 0, .. LittleEndian((int)pixelsAt),
            .. LittleEndian(40), .. LittleEndian(width), .. LittleEndian(height), 1, 0, 24, 0, .. LittleEndian(0),
            .. LittleEndian(pixels.Length), .. LittleEndian(2835), .. LittleEndian(2835), .. LittleEndian(0), .. LittleEndian(0),
            .. pixels];
    }

    static byte[] LittleEndian(int value) => [(byte)value, (byte)(value >> 8), (byte)(value >> 16), (byte)(value >> 24)];

    static byte[] Png(int width, int height, byte[] idat)
    {
        byte[] ihdr = [.. BigEndian(width), .. BigEndian(height), 8, 0, 0, 0, 0];
        return [0x89, .. "PNG\r\n\u001a\n"u8, .. Chunk("IHDR", ihdr), .. Chunk("IDAT", idat), .. Chunk("IEND", [])];
    }

    static byte[] Chunk(string type, byte[] data)
    {
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        return [.. BigEndian(data.Length), .. typed, .. BigEndian((int)Crc32(typed))];
    }

    static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];
}

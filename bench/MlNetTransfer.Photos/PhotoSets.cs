using System.Diagnostics;

namespace MlNetTransfer.Photos;

/// <summary>The benchmark's photo sets, made once by bench/photos/make_photos.py from Debian's Fashion-MNIST under a
/// cache folder: camera-sized JPEGs (a quarter stored turned, with an EXIF orientation) and large PNGs. A set of N
/// photos is the first three quarters of the training and the first quarter of the test photos in the script's
/// order, so a small set is part of a larger one; each is a folder of class folders (hard links, no copies).</summary>
public sealed record PhotoSets(string Root, string Repository)
{
    public sealed record Set(string Name, string Train, string Test, IReadOnlyList<string> TrainFiles, IReadOnlyList<string> TestFiles, IReadOnlySet<string> Turned)
    {
        public IEnumerable<string> Files => TrainFiles.Concat(TestFiles);
    }

    /// <summary>N JPEGs (N·3/4 training, N/4 test), made as needed.</summary>
    public Set Jpegs(int count) => Subset("jpeg", count, png: false);

    /// <summary>N PNGs at 2000 × 1500.</summary>
    public Set Pngs(int count) => Subset("png", count, png: true);

    Set Subset(string kind, int count, bool png)
    {
        int train = count * 3 / 4, test = count - train;
        var source = Path.Combine(Root, kind);
        var manifest = Path.Combine(source, "manifest.csv");
        if (Rows(manifest).Count(r => r.Split == "train") < train || Rows(manifest).Count(r => r.Split == "test") < test)
            Make(source, train, test, png);
        var rows = Rows(manifest);
        var chosen = rows.Where(r => r.Split == "train").Take(train).Concat(rows.Where(r => r.Split == "test").Take(test)).ToList();
        var folder = Path.Combine(Root, $"{kind}-{count}");
        foreach (var row in chosen)
        {
            var link = Path.Combine(folder, row.Path);
            if (File.Exists(link)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            if (HardLink(Path.Combine(source, row.Path), link) != 0) throw new IOException($"cannot link {link} to the photo set in {source}");
        }
        string Full(string path) => Path.Combine(folder, path);
        return new Set($"{kind} {count}", Full("train"), Full("test"), chosen.Where(r => r.Split == "train").Select(r => Full(r.Path)).ToList(),
            chosen.Where(r => r.Split == "test").Select(r => Full(r.Path)).ToList(), chosen.Where(r => r.Turned).Select(r => Full(r.Path)).ToHashSet());
    }

    void Make(string folder, int train, int test, bool png)
    {
        Console.WriteLine($"making {train} + {test} {(png ? "PNGs" : "JPEGs")} in {folder} (bench/photos/make_photos.py; minutes)");
        var script = Path.Combine(Repository, "bench", "photos", "make_photos.py");
        var start = new ProcessStartInfo(ChildRun.Python, [script, "--out", folder, "--train", $"{train}", "--test", $"{test}", .. png ? ["--png"] : Array.Empty<string>()]);
        using var process = Process.Start(start)!;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({process.ExitCode}): needs python3-pil, python3-numpy and dataset-fashion-mnist");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    static extern int HardLink([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string existing,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string link);

    static List<(string Path, string Split, bool Turned)> Rows(string manifest) =>
        !File.Exists(manifest) ? []
            : File.ReadLines(manifest).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
                .Select(c => (c[0], c[0].Split('/')[0], c[2] == "1")).ToList();
}

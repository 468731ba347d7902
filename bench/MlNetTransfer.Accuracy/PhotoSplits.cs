using System.Diagnostics;

namespace MlNetTransfer.Accuracy;

/// <summary>
/// Camera-photo splits: Fashion-MNIST items made into 12-megapixel phone JPEGs by bench/photos/make_photos.py (tinted,
/// upscaled onto a smooth background with sensor noise; a quarter stored turned with an EXIF orientation), N drawn
/// from the official train split and the test photos from the official test split, with the split's seed; written
/// once under the data folder and reused. What `train` reads here is what users bring; what the ML.NET baseline reads
/// is the same files through LoadImages, as its samples do (full size, the turned ones as stored).
/// </summary>
public static class PhotoSplits
{
    public static ImageSplit Prepare(string dataRoot, int trainImages, int testImages, int seed)
    {
        var folder = Path.Combine(dataRoot, "photos", $"train-{trainImages}-test-{testImages}-seed{seed}");
        if (!File.Exists(Path.Combine(folder, ".complete"))) Make(folder, trainImages, testImages, seed);
        return new ImageSplit("photos", $"{trainImages}", Path.Combine(folder, "train"), Path.Combine(folder, "test"), trainImages, testImages,
            $"{trainImages} 4032×3024 JPEGs made from Fashion-MNIST train images drawn with seed {seed}, {testImages} from its test images; " +
            "a quarter stored turned (EXIF orientation 6)");
    }

    static void Make(string folder, int trainImages, int testImages, int seed)
    {
        var script = Path.Combine(Bench.Paths.Repository(), "bench", "photos", "make_photos.py");
        Console.WriteLine($"making {trainImages} + {testImages} photos in {folder} ({script}; minutes)");
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; // Debian's, with python3-pil and numpy
        using var process = Process.Start(new ProcessStartInfo(python,
            [script, "--out", folder, "--train", $"{trainImages}", "--test", $"{testImages}", "--seed", $"{seed}"]))!;
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): it needs python3-pil, python3-numpy and dataset-fashion-mnist");
        File.WriteAllText(Path.Combine(folder, ".complete"), "");
    }
}

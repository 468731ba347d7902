using MlNetTransfer.Engine.Training;
using MlNetTransfer.MlNet;
using Spectre.Console;

namespace MlNetTransfer.Cli.Reporting;

/// <summary>`predict --heatmaps`: each scored image with the Grad-CAM map of its predicted class laid over it, as a
/// JPEG in a folder that mirrors the input's, named after the image (<c>Bag/0001.png</c> → <c>Bag/0001.png.heatmap.jpg</c>,
/// so a PNG and a JPEG of one name stay apart).</summary>
public static class PredictionHeatmaps
{
    public const string Suffix = ".heatmap.jpg";

    /// <summary>Writes one picture per image of <paramref name="images"/> for the class at the same position of
    /// <paramref name="classes"/> (an index in Score's order), each atomically; returns how many were written (an image
    /// that cannot be decoded again is left out).</summary>
    /// <param name="inputRoot">The folder the images were found under (their paths under it name the pictures); null
    /// for the image on standard input.</param>
    public static int Write(string model, IReadOnlyList<string> images, IReadOnlyList<int> classes, string? inputRoot, string folder, long maxPixels,
        IAnsiConsole console)
    {
        var maps = TransferModelFile.Heatmaps(model, images, classes, maxPixels, new PhaseProgress("heatmaps made", console.WriteLine));
        int written = 0;
        // each picture decodes its image again at the picture's size: on every core; a full disk names the folder
        Runtime.ParallelLoops.Run(() => Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            if (maps[i] is not { } map || HeatmapPicture.Of(images[i], map, maxPixels) is not { } picture) return;
            AtomicFile.Write(Path.Combine(folder, PictureName(images[i], inputRoot)), picture.Bytes);
            Interlocked.Increment(ref written);
        }));
        return written;
    }

    /// <summary>The picture's path under the heatmaps folder. An image outside the input's folder (a list may name
    /// <c>../other/a.jpg</c>, or a path on another drive) still has its picture inside it: <c>_up/other/a.jpg…</c>.</summary>
    public static string PictureName(string image, string? inputRoot)
    {
        if (inputRoot == null) return "standard-input" + Suffix;
        var relative = Path.GetRelativePath(inputRoot, image);
        if (Path.IsPathRooted(relative)) relative = relative[Path.GetPathRoot(relative)!.Length..];
        return Path.Combine([.. relative.Split(Path.DirectorySeparatorChar).Select(part => part == ".." ? "_up" : part)]) + Suffix;
    }
}

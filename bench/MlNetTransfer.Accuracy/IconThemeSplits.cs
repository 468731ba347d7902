using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MlNetTransfer.Accuracy;

/// <summary>
/// A second real set, unlike Fashion-MNIST: desktop icons by category (actions, apps, devices, mimetypes, places,
/// status) from Debian's PNG icon themes — colour, alpha, sizes from 32 to 256 px. Split by theme: the test icons
/// come from themes never seen in training, so a model must learn what a category looks like, not a theme's style.
/// Every distinct PNG (by content) of 32 px or more counts once; a split draws the same number per class with a
/// fixed seed (fewer where a class has fewer) and copies the files into class folders.
/// </summary>
public static partial class IconThemeSplits
{
    public const string IconRoot = "/usr/share/icons";
    public static readonly string[] Classes = ["actions", "apps", "devices", "mimetypes", "places", "status"];

    /// <summary>Themes the training draws come from (Obsidian and Faba derive from Faenza: same side).</summary>
    public static readonly string[] TrainThemes = ["oxygen", "Faenza", "Obsidian", "Faba", "Moka", "Paper"];

    /// <summary>Themes the test draws come from (gnome and mate share Tango's style: same side).</summary>
    public static readonly string[] TestThemes = ["Tango", "gnome", "mate", "elementary-xfce", "nuoveXT2"];

    /// <summary>The Debian packages that hold those themes.</summary>
    public const string Packages = "oxygen-icon-theme faenza-icon-theme obsidian-icon-theme faba-icon-theme moka-icon-theme paper-icon-theme " +
                                   "tango-icon-theme gnome-icon-theme mate-icon-theme elementary-xfce-icon-theme lxde-icon-theme";

    public static ImageSplit Prepare(string dataRoot, int trainImages, int testImages, int seed)
    {
        var root = Path.Combine(dataRoot, "icons");
        var train = Write(Path.Combine(root, $"train-{trainImages}-seed{seed}"), TrainThemes, trainImages, seed, out int trainCount);
        var test = Write(Path.Combine(root, $"test-{testImages}-seed{seed}"), TestThemes, testImages, seed, out int testCount);
        return new ImageSplit("icons", $"{trainImages}", train, test, trainCount, testCount,
            $"≤ {trainImages / Classes.Length} per class drawn with seed {seed} from {string.Join(", ", TrainThemes)}; " +
            $"≤ {testImages / Classes.Length} per class from {string.Join(", ", TestThemes)}");
    }

    static string Write(string folder, string[] themes, int count, int seed, out int written)
    {
        var marker = Path.Combine(folder, ".complete");
        if (File.Exists(marker))
        {
            written = int.Parse(File.ReadAllText(marker));
            return folder;
        }
        var missing = themes.Where(t => !Directory.Exists(Path.Combine(IconRoot, t))).ToList();
        if (missing.Count > 0)
            throw new DirectoryNotFoundException($"icon themes not installed: {string.Join(", ", missing)}; apt-get install {Packages}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var random = new Random(seed);
        int perClass = count / Classes.Length;
        written = 0;
        foreach (var category in Classes)
        {
            var candidates = Candidates(themes, category);
            random.Shuffle(candidates);
            var classFolder = Directory.CreateDirectory(Path.Combine(folder, category)).FullName;
            int i = 0;
            foreach (var file in candidates.Take(perClass))
            {
                // theme and size in the name: the report's gallery then says where a misclassified icon came from
                var relative = Path.GetRelativePath(IconRoot, file).Replace('/', '_');
                File.Copy(file, Path.Combine(classFolder, $"{i++:D4}_{relative}"));
                written++;
            }
        }
        File.WriteAllText(marker, written.ToString());
        return folder;
    }

    /// <summary>Distinct PNGs (by content) of a category across themes, 32 px or more, in a stable order.</summary>
    static string[] Candidates(string[] themes, string category)
    {
        var seen = new HashSet<string>();
        var files = new List<string>();
        foreach (var theme in themes)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(IconRoot, theme), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var parts = Path.GetRelativePath(IconRoot, file).Split('/');
                if (!parts.Contains(category) || Size(parts) is not >= 32) continue;
                byte[] bytes;
                try { bytes = File.ReadAllBytes(file); }
                catch (FileNotFoundException) { continue; } // a theme's dangling symbolic link
                if (seen.Add(Convert.ToHexString(SHA256.HashData(bytes)))) files.Add(file);
            }
        return files.ToArray();
    }

    /// <summary>The pixel size from a theme's folder names ("48x48", "48", "32x32@2x" = 64).</summary>
    static int? Size(string[] parts)
    {
        foreach (var part in parts)
        {
            var m = SizeFolder().Match(part);
            if (m.Success) return int.Parse(m.Groups[1].Value) * (m.Groups[2].Success ? int.Parse(m.Groups[2].Value) : 1);
        }
        return null;
    }

    [GeneratedRegex(@"^(\d+)(?:x\d+)?(?:@(\d)x)?$")]
    private static partial Regex SizeFolder();
}

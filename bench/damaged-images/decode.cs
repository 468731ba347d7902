// Decodes every file of a folder with training's decoder (ImageDecoder, from the file and from memory) and with the
// one the generated web API and Consume.cs serve with (templates/WebApi/ImageDecoding.cs), and counts per format:
// pictures, named problems, escapes (any other exception) and disagreements between the decoders (one decodes, the
// other does not, or their pixels differ). The file being decoded is written to --progress first, so a crash of the
// process names its file.
//
//     dotnet run bench/damaged-images/decode.cs -- /tmp/damaged/damaged [--progress /tmp/damaged/at.txt]
#:project ../../src/Estimators/MlNetTransfer.Estimators.csproj
#:project ../../templates/WebApi/WebApi.csproj
#:property PublishAot=false
using System.Diagnostics;
using MlNetTransfer.Imaging;
using WebApi;

var folder = args[0];
var progress = args.Length > 2 && args[1] == "--progress" ? new StreamWriter(args[2]) { AutoFlush = true } : null;
var served = new ImageDecoding(64, ImageDecoder.DefaultMaxPixels);
var tally = new SortedDictionary<string, int[]>(); // format: pictures, problems, escapes, disagreements
var notes = new List<string>();
var clock = Stopwatch.StartNew();
foreach (var path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
{
    progress?.WriteLine(path);
    var format = Path.GetFileName(path).Split('-')[0];
    var counts = tally.TryGetValue(format, out var c) ? c : tally[format] = new int[4];
    var bytes = File.ReadAllBytes(path);
    var (fromFile, fromMemory, fromServed) = (Trained(() => ImageDecoder.Decode(path, 64)),
        Trained(() => ImageDecoder.Decode(new MemoryStream(bytes, writable: false), 64)), Served(bytes));
    if ((fromFile.Escaped ?? fromMemory.Escaped ?? fromServed.Escaped) is { } escaped)
    {
        counts[2]++;
        notes.Add($"escaped: {path}: {escaped}");
    }
    else if (!Same(fromFile.Pixels, fromMemory.Pixels) || !Same(fromFile.Pixels, fromServed.Pixels))
    {
        counts[3]++;
        notes.Add($"disagree: {path}: file {fromFile.Problem ?? "decodes"}, memory {fromMemory.Problem ?? "decodes"}, served {fromServed.Problem ?? "decodes"}");
    }
    else counts[fromFile.Pixels != null ? 0 : 1]++;
}

Console.WriteLine("| format | files | pictures | named problems | escaped | decoders disagree |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var (format, n) in tally) Console.WriteLine($"| {format} | {n.Sum()} | {n[0]} | {n[1]} | {n[2]} | {n[3]} |");
var all = Enumerable.Range(0, 4).Select(i => tally.Values.Sum(n => n[i])).ToArray();
Console.WriteLine($"| all | {all.Sum()} | {all[0]} | {all[1]} | {all[2]} | {all[3]} |");
Console.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB");
foreach (var note in notes.Take(20)) Console.WriteLine(note);
return all[2] + all[3] == 0 ? 0 : 1;

static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

static (byte[]? Pixels, string? Problem, string? Escaped) Trained(Func<DecodedImage> decode)
{
    try
    {
        using var decoded = decode();
        return (decoded.Bitmap?.Bytes, decoded.Problem, null);
    }
    catch (Exception e)
    {
        return (null, null, $"{e.GetType().Name}: {e.Message}");
    }
}

(byte[]? Pixels, string? Problem, string? Escaped) Served(byte[] bytes)
{
    try
    {
        using var image = served.Load(bytes);
        return (image.Pixels.ToArray(), null, null);
    }
    catch (InvalidDataException e)
    {
        return (null, e.Message, null);
    }
    catch (Exception e)
    {
        return (null, null, $"{e.GetType().Name}: {e.Message}");
    }
}

using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;

namespace MlNetTransfer.Serving;

/// <summary>The web API as a user runs it — its own process, Kestrel, HTTP on the loopback — posting the uploads
/// as raw bodies from 1 and then 8 concurrent clients for a timed window each; then, when asked, a soak: that many
/// more requests from 8 clients, the server's resident memory read after every tenth of them (a service runs for
/// weeks: memory that grows with requests ends it).</summary>
public static class HttpLoad
{
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int Kill(int pid, int signal);

    const int Sigterm = 15;

    public static async Task<(Throughput One, Throughput Eight, FirstRequest First, IReadOnlyList<SoakPoint> Soak)> Measure(string server, string zip, int side,
        IReadOnlyList<byte[]> uploads, double seconds, bool warmUp, int soak = 0)
    {
        if (!File.Exists(server)) throw new FileNotFoundException($"{server}: build the solution in Release first (dotnet build -c Release)");
        var start = new ProcessStartInfo("dotnet", [server, "--urls", "http://127.0.0.1:0", $"--Model:Path={zip}", $"--Model:ImageSize={side}",
            $"--Model:WarmUp={warmUp}", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            string? address = null;
            while (address == null && await process.StandardOutput.ReadLineAsync() is { } line)
                if (line.Contains("Now listening on: ")) address = line[line.IndexOf("http", StringComparison.Ordinal)..].Trim();
            if (address == null) throw new InvalidOperationException($"the web API did not start: {await process.StandardError.ReadToEndAsync()}");
            double startMs = clock.Elapsed.TotalMilliseconds;
            _ = process.StandardOutput.ReadToEndAsync(); // keep its pipe drained

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(address) };
            var first = Stopwatch.StartNew();
            await Post(http, uploads[0]);
            var firstRequest = new FirstRequest(warmUp, startMs, first.Elapsed.TotalMilliseconds);
            if (seconds <= 0) return (Throughput.From(1, [], 1), Throughput.From(8, [], 1), firstRequest, []);
            var (one, eight) = (await Load(http, uploads, 1, seconds), await Load(http, uploads, 8, seconds));
            return (one, eight, firstRequest, soak > 0 ? await Soak(http, uploads, process.Id, soak) : []);
        }
        finally
        {
            // SIGTERM, as a service manager stops it: the app disposes its model, and with it ML.NET's temporary copy
            // of the network (killed outright, it would leave tens of MB in the temp folder on every measurement)
            if (!process.HasExited && (Kill(process.Id, Sigterm) != 0 || !process.WaitForExit(TimeSpan.FromSeconds(30))))
                process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    static async Task<Throughput> Load(HttpClient http, IReadOnlyList<byte[]> uploads, int clients, double seconds)
    {
        for (int i = 0; i < clients; i++) await Post(http, uploads[i % uploads.Count]); // a connection each, untimed
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var latencies = await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
        {
            var mine = new List<double>();
            for (int i = client; clock.Elapsed < deadline; i += clients)
            {
                var start = Stopwatch.GetTimestamp();
                await Post(http, uploads[i % uploads.Count]);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            return mine;
        }));
        return Throughput.From(clients, latencies.SelectMany(l => l).ToList(), clock.Elapsed.TotalSeconds);
    }

    static async Task<IReadOnlyList<SoakPoint>> Soak(HttpClient http, IReadOnlyList<byte[]> uploads, int pid, int requests)
    {
        const int clients = 8;
        var points = new List<SoakPoint> { new(0, ResidentMegabytes(pid)) };
        int step = Math.Max(clients, requests / 10), done = 0;
        while (done < requests)
        {
            int batch = Math.Min(step, requests - done), from = done;
            await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
            {
                for (int i = client; i < batch; i += clients) await Post(http, uploads[(from + i) % uploads.Count]);
            }));
            done += batch;
            points.Add(new SoakPoint(done, ResidentMegabytes(pid)));
        }
        return points;
    }

    static double ResidentMegabytes(int pid) =>
        double.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;

    static async Task Post(HttpClient http, byte[] upload)
    {
        var content = new ByteArrayContent(upload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var answer = await http.PostAsync("/predict", content);
        if (!answer.IsSuccessStatusCode) throw new InvalidOperationException($"/predict answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
    }
}

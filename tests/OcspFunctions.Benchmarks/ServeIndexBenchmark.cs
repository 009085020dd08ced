using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>serve-index --dir DIR --serials N [--key p256] [--store DIR] [--lookups 100000] [--index-cache-mb M] [--cache-mb M] [--seed 1]</c>:
/// the server's side of the sharded index, in-process (the <see cref="StoreResponseSource"/> every HTTP host uses, no
/// Kestrel): time from process start to the first correct answer, then random lookups over the issued serials, each
/// checked (found, the right serial), and the process's RSS after them next to where the memory is (the GC's heap,
/// committed and fragmented bytes, both caches' counted bytes). The bounds are the product's defaults unless given.
/// Run it in a fresh process (it is one).
/// </summary>
public static class ServeIndexBenchmark
{
    public static int Run(string[] args)
    {
        long processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks;
        var opts = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2) opts[args[i]] = args[i + 1];
        string dir = opts.GetValueOrDefault("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench");
        int serials = int.Parse(opts.GetValueOrDefault("--serials") ?? "1000000", CultureInfo.InvariantCulture);
        string key = opts.GetValueOrDefault("--key") ?? "p256";
        string storeDir = opts.GetValueOrDefault("--store") ?? Path.Combine(dir, $"refresh-store-{key}");
        int lookups = int.Parse(opts.GetValueOrDefault("--lookups") ?? "100000", CultureInfo.InvariantCulture);
        var random = new Random(int.Parse(opts.GetValueOrDefault("--seed") ?? "1", CultureInfo.InvariantCulture));
        var files = RefreshFixture.Paths(dir, serials, key);

        var options = new OcspOptions();
        if (opts.GetValueOrDefault("--index-cache-mb") is { } indexMb) options.Serve.IndexCacheBytes = long.Parse(indexMb, CultureInfo.InvariantCulture) << 20;
        if (opts.GetValueOrDefault("--cache-mb") is { } responseMb) options.Serve.CacheBytes = long.Parse(responseMb, CultureInfo.InvariantCulture) << 20;
        var issuer = new OcspIssuer(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(files.CaPath));
        var store = new FileSystemObjectStore(storeDir);
        var source = new StoreResponseSource([issuer], store, options, TimeProvider.System, NullLogger.Instance);

        // The first request: a serial known to be issued (the first line of the list; reading it is not the server's work).
        var first = SerialNumber.ParseHex(File.ReadLines(files.IssuedPath).First(l => l.Length > 0 && l[0] != '#').Split(',')[0]);
        var answer = source.LookupAsync(issuer.CertIdFor(first, CertIdHashAlgorithm.Sha1), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (answer.Outcome != LookupOutcome.Found || answer.Response!.Entry.Status == CertStatusKind.Unknown)
            throw new InvalidOperationException($"first lookup: {answer.Outcome}");
        var firstAnswer = TimeSpan.FromTicks(DateTime.UtcNow.Ticks - processStart);
        long rssFirst = ProcStatus.Bytes("VmRSS");

        // Random serials from the list (read after the first answer: not part of the start-up).
        // Two passes over the list, keeping only the picked lines: holding the 10M-line list as strings (~1 GB) would stay in
        // this process's RSS, which is the figure measured.
        static bool IsSerialLine(string l) => l.Length > 0 && l[0] != '#';
        int lines = File.ReadLines(files.IssuedPath).Count(IsSerialLine);
        var chosen = new int[lookups];
        for (int i = 0; i < lookups; i++) chosen[i] = random.Next(lines);
        var wanted = chosen.ToHashSet();
        var serialAt = new Dictionary<int, SerialNumber>(wanted.Count);
        int lineNumber = 0;
        foreach (var line in File.ReadLines(files.IssuedPath).Where(IsSerialLine))
        {
            if (wanted.Contains(lineNumber)) serialAt[lineNumber] = SerialNumber.ParseHex(line.Split(',')[0]);
            lineNumber++;
        }
        var picks = chosen.Select(n => serialAt[n]).ToArray();
        GC.Collect();
        var sw = Stopwatch.StartNew();
        int found = 0;
        Parallel.For(0, lookups, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var lookup = source.LookupAsync(issuer.CertIdFor(picks[i], CertIdHashAlgorithm.Sha1), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (lookup.Outcome != LookupOutcome.Found) throw new InvalidOperationException($"serial {picks[i]}: {lookup.Outcome}");
            var single = OcspResponse.Decode(lookup.Response!.Der).Basic!.Responses[0];
            if (single.CertId.SerialNumber != picks[i]) throw new InvalidOperationException($"serial {picks[i]} answered for {single.CertId.SerialNumber}");
            Interlocked.Increment(ref found);
        });
        var elapsed = sw.Elapsed;
        long rssAfter = ProcStatus.Bytes("VmRSS");
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        static string Mb(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"serve-index: {serials:N0} serials, store {storeDir}, Serve:IndexCacheBytes {Mb(options.Serve.IndexCacheBytes)} MiB, Serve:CacheBytes {Mb(options.Serve.CacheBytes)} MiB; " +
            $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC ({GcSettings()})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"process start -> first correct answer: {firstAnswer.TotalSeconds:F3} s (RSS then {Mb(rssFirst)} MB)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{found:N0} random lookups, all found and checked: {elapsed.TotalSeconds:F1} s ({found / elapsed.TotalSeconds:N0}/s); " +
            $"shards loaded {source.IndexShards.Loads:N0}, held {source.IndexShards.Count:N0} ({Mb(source.IndexShards.Bytes)} MB counted); " +
            $"responses cached {source.CachedResponses:N0} ({Mb(source.CachedResponseBytes)} MB counted)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RSS after the lookups: {Mb(rssAfter)} MB; peak (VmHWM) {Mb(ProcStatus.Bytes("VmHWM"))} MB; GC heap {Mb(gc.HeapSizeBytes)} MB " +
            $"(live {Mb(GC.GetTotalMemory(false))} MB, fragmented {Mb(gc.FragmentedBytes)} MB, committed {Mb(gc.TotalCommittedBytes)} MB, " +
            $"{Mb(GC.GetTotalAllocatedBytes())} MB allocated in all; GCs gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}); " +
            $"RSS anonymous {Mb(ProcStatus.Bytes("RssAnon"))} MB, file {Mb(ProcStatus.Bytes("RssFile"))} MB; {ProcStatus.Bytes("Threads") / 1024} threads"));
        if (Environment.GetEnvironmentVariable("SERVE_INDEX_SMAPS") is not null)
            foreach (var (name, kb) in SmapsTop()) Console.WriteLine($"  {kb / 1024,6} MB  {name}");
        return 0;
    }

    private static IEnumerable<(string, long)> SmapsTop()
    {
        var rows = new List<(string, long)>();
        string current = "";
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (char.IsAsciiHexDigit(line[0]) && line.Contains('-')) current = line;
            else if (line.StartsWith("Rss:", StringComparison.Ordinal)) rows.Add((current, long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)));
        }
        return rows.OrderByDescending(r => r.Item2).Take(15);
    }

    /// <summary>The GC settings that shape the heap (as the runtime resolved them: runtimeconfig, environment or default).</summary>
    private static string GcSettings()
    {
        var all = GC.GetConfigurationVariables();
        return string.Join(", ", new[] { "DynamicAdaptationMode", "ConserveMemory", "HeapHardLimit", "HeapCount", "RetainVM" }
            .Where(all.ContainsKey).Select(k => $"{k} {Convert.ToString(all[k], CultureInfo.InvariantCulture)}"));
    }
}

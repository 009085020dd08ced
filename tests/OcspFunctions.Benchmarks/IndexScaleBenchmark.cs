using System.Diagnostics;
using System.Globalization;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks;

/// <summary>
/// <c>index-scale [--serials 10000000] [--dir DIR] [--lookups 100000] [--index-cache-mb 192]</c>: the sharded index alone at
/// scale, without signing (a 10,000,000-serial signing refresh takes hours on a shared 2-core machine). Writes a synthetic
/// index of N random 16-byte serials (10 % revoked; entries point at 100 made-up pack names) as shards, then in fresh child
/// processes measures (1) what a nothing-to-do refresh spends on the index: load every shard (compact <see cref="IndexShard"/>s),
/// save nothing (no shard marked changed); then one changed serial saved (one shard written), and the compact form's bytes
/// per entry; (2) what a server spends: process start to the first entry found through the manifest and the shard cache,
/// then random lookups of present serials, RSS after them.
/// </summary>
public static class IndexScaleBenchmark
{
    private const string IssuerId = "INDEXSCALE";

    public static int Run(string[] args)
    {
        var opts = Options(args);
        int serials = int.Parse(opts.GetValueOrDefault("--serials") ?? "10000000", CultureInfo.InvariantCulture);
        string dir = opts.GetValueOrDefault("--dir") ?? Path.Combine(Path.GetTempPath(), "ocspfunctions-bench", $"index-scale-{serials}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var store = new FileSystemObjectStore(dir);

        var sw = Stopwatch.StartNew();
        var random = new Random(1);
        var manifest = new IssuerManifest { IssuerId = IssuerId };
        var sharded = ShardedIndexStore.LoadAsync(store, IssuerId, manifest, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), CancellationToken.None).GetAwaiter().GetResult();
        IndexEntries? entries = sharded.Index.Entries;
        entries.EnsureCapacity(serials);
        var packs = Enumerable.Range(0, 100).Select(i => $"20261201T000000Z-{i:x12}").ToArray();
        var bytes = new byte[16];
        var serialList = new List<string>(serials);
        for (int i = 0; i < serials; i++)
        {
            random.NextBytes(bytes);
            bytes[0] = (byte)((bytes[0] & 0x7F) | 0x10);
            var serial = SerialNumber.FromIntegerContents(bytes);
            bool revoked = i % 10 == 0;
            entries[serial] = new IndexEntry(revoked ? CertStatusKind.Revoked : CertStatusKind.Good, revoked ? 1_790_000_000 : -1,
                revoked ? RevocationReason.KeyCompromise : null, 1_796_000_000, 1_796_345_600, packs[i % 100], 1_000 + (long)i * 260 % 16_000_000, 520);
            if (i % 100 == 0) serialList.Add(Convert.ToHexString(bytes));
        }
        double generated = sw.Elapsed.TotalSeconds;
        sw.Restart();
        int written = sharded.SaveChangedAsync(manifest, DateTimeOffset.UtcNow, CancellationToken.None).GetAwaiter().GetResult();
        store.PutAsync(StoreLayout.Manifest(IssuerId), manifest.Serialize(), CancellationToken.None).GetAwaiter().GetResult();
        File.WriteAllLines(Path.Combine(dir, "sample-serials.txt"), serialList);
        long indexBytes = Directory.GetFiles(Path.Combine(dir, StoreLayout.IndexFolder(IssuerId)), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"index-scale: {serials:N0} serials generated in {generated:F1} s; written as {written:N0} shards ({indexBytes / 1048576.0:F0} MB) in {sw.Elapsed.TotalSeconds:F1} s; manifest {new FileInfo(Path.Combine(dir, StoreLayout.Manifest(IssuerId))).Length / 1024.0:F0} KB"));
        entries = null;
        sharded = null;
        GC.Collect();

        Child("index-scale-refresh", dir, opts);
        Child("index-scale-serve", dir, opts);
        return 0;
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var opts = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2) opts[args[i]] = args[i + 1];
        return opts;
    }

    private static void Child(string mode, string dir, Dictionary<string, string> opts)
    {
        string self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) psi.ArgumentList.Add(typeof(IndexScaleBenchmark).Assembly.Location);
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add("--dir");
        psi.ArgumentList.Add(dir);
        foreach (var (k, v) in opts.Where(o => o.Key != "--dir"))
        {
            psi.ArgumentList.Add(k);
            psi.ArgumentList.Add(v);
        }
        psi.Environment["DOTNET_gcServer"] = "0"; // as the OcspResponder CLI and the Functions worker
        using var child = Process.Start(psi)!;
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"{mode} failed (exit {child.ExitCode})");
    }

    /// <summary>The index part of a nothing-to-do refresh, then a checkpoint with one changed serial.</summary>
    public static int RefreshChild(string[] args)
    {
        var opts = Options(args);
        var store = new CountingStore(new FileSystemObjectStore(opts["--dir"]));
        var sw = Stopwatch.StartNew();
        var manifest = IssuerManifest.Parse(store.GetAsync(StoreLayout.Manifest(IssuerId), CancellationToken.None).GetAwaiter().GetResult()!.Content, "manifest");
        var sharded = ShardedIndexStore.LoadAsync(store, IssuerId, manifest, DateTimeOffset.UtcNow, TimeSpan.FromHours(1), CancellationToken.None).GetAwaiter().GetResult();
        double load = sw.Elapsed.TotalSeconds;
        sw.Restart();
        int nothing = sharded.SaveChangedAsync(manifest, DateTimeOffset.UtcNow, CancellationToken.None).GetAwaiter().GetResult();
        double idleSave = sw.Elapsed.TotalSeconds;
        var (serial, entry) = sharded.Index.Entries.First();
        sharded.Index.Entries[serial] = entry with { Status = CertStatusKind.Revoked, RevocationTime = 1_796_000_000, Reason = RevocationReason.KeyCompromise };
        sw.Restart();
        int one = sharded.SaveChangedAsync(manifest, DateTimeOffset.UtcNow, CancellationToken.None).GetAwaiter().GetResult();
        double oneSave = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"refresh side: load {sharded.Index.Entries.Count:N0} entries from {manifest.IndexShards:N0} shards {load:F1} s; save with nothing changed {idleSave:F2} s, " +
            $"{nothing} shards written; save with one serial changed {oneSave:F2} s, {one} shard written; VmHWM {ProcStatus.Bytes("VmHWM") / 1048576.0:F0} MB; " +
            $"CPU {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} s"));
        Console.WriteLine("  " + store.Summary);
        long shardBytes = 0, shardEntries = 0;
        for (int k = 0; k < manifest.IndexShards; k++)
        {
            var shard = ShardedIndexStore.ReadShardAsync(store, IssuerId, manifest.IndexShards, k, CancellationToken.None).GetAwaiter().GetResult();
            shardBytes += shard.ByteSize;
            shardEntries += shard.Count;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  compact shards: {shardBytes / 1048576.0:F0} MB for {shardEntries:N0} entries = {(double)shardBytes / Math.Max(1, shardEntries):F1} bytes per entry (IndexShard.ByteSize)"));
        return 0;
    }

    /// <summary>A server's index work: start to the first entry, then random lookups within the shard cache's bound.</summary>
    public static int ServeChild(string[] args)
    {
        long processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks;
        var opts = Options(args);
        string dir = opts["--dir"];
        int lookups = int.Parse(opts.GetValueOrDefault("--lookups") ?? "100000", CultureInfo.InvariantCulture);
        long cacheMb = long.Parse(opts.GetValueOrDefault("--index-cache-mb") ?? "192", CultureInfo.InvariantCulture);
        var store = new FileSystemObjectStore(dir);
        var cache = new IndexShardCache(cacheMb << 20);
        var first = SerialNumber.ParseHex(File.ReadLines(Path.Combine(dir, "sample-serials.txt")).First());

        IndexEntry? Find(IssuerManifest m, SerialNumber s)
        {
            int k = IndexShards.ShardOf(s, m.IndexShards);
            var shard = cache.GetAsync(new IndexShardCache.Key(IssuerId, m.IndexShards, k), m.IndexShardVersions[k],
                ct => ShardedIndexStore.ReadShardAsync(store, IssuerId, m.IndexShards, k, ct), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return shard.TryGet(s, out var e) ? e : null;
        }

        var manifest = IssuerManifest.Parse(store.GetAsync(StoreLayout.Manifest(IssuerId), CancellationToken.None).GetAwaiter().GetResult()!.Content, "manifest");
        if (Find(manifest, first) is null) throw new InvalidOperationException("first serial not found");
        var firstAnswer = TimeSpan.FromTicks(DateTime.UtcNow.Ticks - processStart);

        var sample = File.ReadAllLines(Path.Combine(dir, "sample-serials.txt")).Select(SerialNumber.ParseHex).ToArray();
        var sw = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        Parallel.For(0, lookups, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var s = sample[Random.Shared.Next(sample.Length)];
            if (Find(manifest, s) is null) throw new InvalidOperationException($"{s} not found");
        });
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"server side: process start -> first entry {firstAnswer.TotalSeconds:F2} s; {lookups:N0} random lookups {sw.Elapsed.TotalSeconds:F1} s " +
            $"(CPU {cpuUsed.TotalSeconds:F1} s), {cache.Loads:N0} shard loads, {cache.Count:N0} shards held ({cache.Bytes / 1048576.0:F0} MB counted, " +
            $"bound {cacheMb} MiB); GC heap {GC.GetTotalMemory(true) / 1048576.0:F0} MB; RSS {ProcStatus.Bytes("VmRSS") / 1048576.0:F0} MB, VmHWM {ProcStatus.Bytes("VmHWM") / 1048576.0:F0} MB"));
        return 0;
    }
}

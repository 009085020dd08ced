using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Adapters.FileSystem;
using OcspFunctions.Engine;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Engine.Sources;
using OcspFunctions.Engine.Store;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// The index split into shards by a hash of the serial: a refresh writes only the shards whose serials changed, a server
/// loads a shard on first need within a byte bound and fetches again only the shards a new manifest changed, an index.tsv
/// from before shards is migrated, and a run killed between shard writes converges.
/// </summary>
[Collection("pki")]
public sealed class IndexShardTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Counts reads and writes by object name; optionally refuses the n-th index shard write (a kill between writes).</summary>
    private sealed class RecordingStore(IObjectStore inner) : ForwardingStore(inner)
    {
        public ConcurrentQueue<string> Puts { get; } = new();
        public ConcurrentQueue<string> Gets { get; } = new();
        public int FailShardPutNumber { get; set; }
        private int _shardPuts;

        public void Clear()
        {
            Puts.Clear();
            Gets.Clear();
        }

        public string[] ShardPuts(string issuerId) => [.. Puts.Where(n => n.StartsWith(StoreLayout.IndexFolder(issuerId), StringComparison.Ordinal))];

        public string[] ShardGets(string issuerId) => [.. Gets.Where(n => n.StartsWith(StoreLayout.IndexFolder(issuerId), StringComparison.Ordinal))];

        public override Task<StoredObject?> GetAsync(string name, CancellationToken cancellationToken)
        {
            Gets.Enqueue(name);
            return base.GetAsync(name, cancellationToken);
        }

        public override Task PutAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            if (name.Contains("/index/", StringComparison.Ordinal) && Interlocked.Increment(ref _shardPuts) == FailShardPutNumber)
                throw new StoreException("test store: killed before this shard write");
            Puts.Enqueue(name);
            return base.PutAsync(name, content, cancellationToken);
        }

        public override Task<string?> PutAsync(string name, ReadOnlyMemory<byte> content, PutCondition condition, CancellationToken cancellationToken)
        {
            Puts.Enqueue(name);
            return base.PutAsync(name, content, condition, cancellationToken);
        }
    }

    private static IndexEntry Entry(long thisUpdate, string pack = "p1", CertStatusKind status = CertStatusKind.Good) =>
        new(status, status == CertStatusKind.Revoked ? thisUpdate - 10 : -1, null, thisUpdate, thisUpdate + 86_400, pack, thisUpdate % 1_000, 100);

    private static SerialNumber Serial(int i) => SerialNumber.ParseHex($"7{i:X7}AB");

    private static (FileSystemObjectStore Store, RecordingStore Recording) NewStore()
    {
        var store = new FileSystemObjectStore(Path.Combine(Path.GetTempPath(), "ocsp-shards-" + Guid.NewGuid().ToString("N")));
        return (store, new RecordingStore(store));
    }

    /// <summary>A store whose manifest already says <paramref name="count"/> shards (so the few serials of a test CA spread over several).</summary>
    private static async Task SeedShardsAsync(IObjectStore store, string issuerId, int count)
    {
        var manifest = new IssuerManifest { IssuerId = issuerId, IndexShards = count, IndexShardVersions = [.. Enumerable.Repeat("", count)] };
        var index = await ShardedIndexStore.LoadAsync(store, issuerId, manifest, T0, TimeSpan.FromHours(1), None);
        Assert.True(index.NeedsSave); // the listed shards are missing: written again
        Assert.Equal(count, await index.SaveChangedAsync(manifest, T0, None));
        await store.PutAsync(StoreLayout.Manifest(issuerId), manifest.Serialize(), None);
    }

    private static async Task<IssuerManifest> ManifestAsync(IObjectStore store, string issuerId) =>
        IssuerManifest.Parse((await store.GetAsync(StoreLayout.Manifest(issuerId), None))!.Content, "manifest");

    /// <summary>Every shard the manifest lists holds exactly the bytes of the version it records.</summary>
    private static async Task AssertManifestMatchesShardsAsync(IObjectStore store, string issuerId)
    {
        var manifest = await ManifestAsync(store, issuerId);
        Assert.True(manifest.IndexShards > 0);
        for (int k = 0; k < manifest.IndexShards; k++)
        {
            var shard = await store.GetAsync(StoreLayout.IndexShard(issuerId, manifest.IndexShards, k), None);
            Assert.NotNull(shard);
            Assert.Equal(manifest.IndexShardVersions[k], IndexShards.Version(shard.Content));
        }
    }

    [Fact]
    public void Shard_count_is_a_power_of_two_from_the_serial_count_and_never_shrinks()
    {
        Assert.Equal(1, IndexShards.CountFor(0, 0));
        Assert.Equal(1, IndexShards.CountFor(IndexShards.TargetEntries, 0));
        Assert.Equal(2, IndexShards.CountFor(IndexShards.TargetEntries + 1, 0));
        Assert.Equal(2048, IndexShards.CountFor(10_000_000, 0));
        Assert.Equal(128, IndexShards.CountFor(1_000_000, 0));
        Assert.Equal(64, IndexShards.CountFor(10, 64));
        // Serials spread over every shard, none with more than twice its share.
        var counts = new int[64];
        for (int i = 0; i < 64_000; i++) counts[IndexShards.ShardOf(Serial(i), 64)]++;
        Assert.All(counts, c => Assert.InRange(c, 500, 2_000));
    }

    [Fact]
    public async Task A_save_writes_only_the_shards_whose_entries_changed()
    {
        var (store, recording) = NewStore();
        const string id = "AA";
        var manifest = new IssuerManifest { IssuerId = id };
        var index = await ShardedIndexStore.LoadAsync(recording, id, manifest, T0, TimeSpan.FromHours(1), None);
        for (int i = 0; i < 50_000; i++) index.Index.Entries[Serial(i)] = Entry(1_700_000_000 + i);
        Assert.Equal(8, await index.SaveChangedAsync(manifest, T0, None));
        Assert.Equal(8, manifest.IndexShards);
        await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
        await AssertManifestMatchesShardsAsync(store, id);

        // Loaded again (a new run): nothing changed, nothing written.
        recording.Clear();
        manifest = await ManifestAsync(store, id);
        index = await ShardedIndexStore.LoadAsync(recording, id, manifest, T0, TimeSpan.FromHours(1), None);
        Assert.Equal(50_000, index.Index.Entries.Count);
        Assert.Equal(0, await index.SaveChangedAsync(manifest, T0, None));
        Assert.Empty(recording.Puts);

        // One changed entry, one new serial, one removed serial: only their shards, once each, also at a later checkpoint.
        var versionsBefore = manifest.IndexShardVersions.ToArray();
        index.Index.Entries[Serial(7)] = Entry(1_800_000_000, "p2", CertStatusKind.Revoked);
        Assert.Equal(1, await index.SaveChangedAsync(manifest, T0, None));
        string expected = StoreLayout.IndexShard(id, 8, IndexShards.ShardOf(Serial(7), 8));
        Assert.Equal([expected], recording.ShardPuts(id));
        Assert.Equal(7, manifest.IndexShardVersions.Where((v, k) => v == versionsBefore[k]).Count());

        recording.Clear();
        index.Index.Entries[Serial(60_001)] = Entry(1_800_000_000);
        index.Index.Entries.Remove(Serial(3));
        var shards = new[] { Serial(60_001), Serial(3) }.Select(s => StoreLayout.IndexShard(id, 8, IndexShards.ShardOf(s, 8))).Distinct().Order();
        Assert.Equal(shards.Count(), await index.SaveChangedAsync(manifest, T0, None));
        Assert.Equal(shards, recording.ShardPuts(id).Order());
        await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
        await AssertManifestMatchesShardsAsync(store, id);
        var reread = await ShardedIndexStore.ReadAllAsync(store, id, None);
        Assert.Equal(index.Index.Entries.OrderBy(kv => kv.Key), reread.Entries.OrderBy(kv => kv.Key));

        // Past 8 × 8,192 serials the count doubles: every shard under the new count, the old ones retired then deleted.
        for (int i = 100_000; i < 120_000; i++) index.Index.Entries[Serial(i)] = Entry(1_700_000_000 + i);
        Assert.Equal(16, await index.SaveChangedAsync(manifest, T0, None));
        Assert.Equal(16, manifest.IndexShards);
        Assert.Contains(StoreLayout.IndexShards(id, 8), manifest.RetiredIndex.Keys);
        await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
        Assert.NotNull(await store.GetAsync(StoreLayout.IndexShard(id, 8, 0), None)); // kept while servers may still read it
        await ShardedIndexStore.LoadAsync(store, id, manifest, T0.AddHours(2), TimeSpan.FromHours(1), None);
        Assert.Null(await store.GetAsync(StoreLayout.IndexShard(id, 8, 0), None));
        Assert.Empty(manifest.RetiredIndex);
    }

    [Fact]
    public async Task An_index_tsv_from_before_shards_is_read_once_and_written_as_shards()
    {
        var (store, recording) = NewStore();
        const string id = "BB";
        var legacy = new IssuerIndex();
        for (int i = 0; i < 20_000; i++) legacy.Entries[Serial(i)] = Entry(1_700_000_000 + i, i % 2 == 0 ? "p1" : "p2");
        await store.PutAsync(StoreLayout.Index(id), legacy.Serialize(), None);
        var manifest = new IssuerManifest { IssuerId = id }; // as earlier versions wrote it: no shard count
        await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);

        // Before migrating, readers use the index.tsv.
        Assert.Equal(legacy.Entries[Serial(5)], await ShardedIndexStore.FindEntryAsync(store, id, Serial(5), None));

        var index = await ShardedIndexStore.LoadAsync(recording, id, manifest, T0, TimeSpan.FromHours(1), None);
        Assert.True(index.NeedsSave);
        Assert.Equal(4, await index.SaveChangedAsync(manifest, T0, None));
        await store.PutAsync(StoreLayout.Manifest(id), manifest.Serialize(), None);
        await AssertManifestMatchesShardsAsync(store, id);
        Assert.Equal(legacy.Entries.OrderBy(kv => kv.Key), (await ShardedIndexStore.ReadAllAsync(store, id, None)).Entries.OrderBy(kv => kv.Key));
        Assert.Equal(legacy.Entries[Serial(19_999)], await ShardedIndexStore.FindEntryAsync(store, id, Serial(19_999), None));

        // The index.tsv is retired, and deleted by a run after the retention.
        Assert.Contains(StoreLayout.Index(id), manifest.RetiredIndex.Keys);
        Assert.NotNull(await store.GetAsync(StoreLayout.Index(id), None));
        await ShardedIndexStore.LoadAsync(store, id, manifest, T0.AddHours(2), TimeSpan.FromHours(1), None);
        Assert.Null(await store.GetAsync(StoreLayout.Index(id), None));
    }

    [Fact]
    public async Task A_refresh_that_changes_one_serial_rewrites_only_its_shard()
    {
        var s = RefreshSetup.Create(pki, "shards-partial");
        var recording = new RecordingStore(s.Store);
        await SeedShardsAsync(s.Store, s.IssuerId, 64);
        Assert.True((await Engine(s, recording).RunAsync(None)).Succeeded);
        await AssertManifestMatchesShardsAsync(s.Store, s.IssuerId);
        var before = await ManifestAsync(s.Store, s.IssuerId);

        // Nothing to do: no shard written.
        recording.Clear();
        Assert.True((await Engine(s, recording).RunAsync(None)).Succeeded);
        Assert.Empty(recording.ShardPuts(s.IssuerId));

        var victim = s.Ca.Source.Good.First();
        s.Ca.Revoke(s.Ca.LeafPath(victim.Name), "keyCompromise");
        s.Ca.GenerateCrl();
        recording.Clear();
        var result = Assert.Single((await Engine(s, recording).RunAsync(None)).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(1, result.Changed);
        int shard = IndexShards.ShardOf(SerialNumber.ParseHex(victim.SerialHex), 64);
        Assert.Equal([StoreLayout.IndexShard(s.IssuerId, 64, shard)], recording.ShardPuts(s.IssuerId));
        var after = await ManifestAsync(s.Store, s.IssuerId);
        Assert.Equal(Enumerable.Range(0, 64).Where(k => k != shard), Enumerable.Range(0, 64).Where(k => after.IndexShardVersions[k] == before.IndexShardVersions[k]));
        await AssertManifestMatchesShardsAsync(s.Store, s.IssuerId);
        Assert.Equal(CertStatusKind.Revoked, s.Index().Entries[SerialNumber.ParseHex(victim.SerialHex)].Status);
    }

    [Fact]
    public async Task A_server_loads_only_the_shard_a_lookup_needs_and_a_reload_fetches_only_changed_shards()
    {
        var s = RefreshSetup.Create(pki, "shards-serve");
        await SeedShardsAsync(s.Store, s.IssuerId, 64);
        Assert.True((await s.RunAsync()).Succeeded);
        var recording = new RecordingStore(s.Store);
        s.Options.Serve.IndexReloadInterval = TimeSpan.Zero;
        var source = new StoreResponseSource([s.Issuer], recording, s.Options, TimeProvider.System, NullLogger.Instance);

        // Two good leaves in different shards.
        var leaves = s.Ca.Source.Good.ToList();
        var a = leaves[0];
        int shardA = IndexShards.ShardOf(SerialNumber.ParseHex(a.SerialHex), 64);
        var b = leaves.First(l => IndexShards.ShardOf(SerialNumber.ParseHex(l.SerialHex), 64) != shardA);
        int shardB = IndexShards.ShardOf(SerialNumber.ParseHex(b.SerialHex), 64);
        var certA = s.Issuer.CertIdFor(SerialNumber.ParseHex(a.SerialHex), CertIdHashAlgorithm.Sha1);
        var certB = s.Issuer.CertIdFor(SerialNumber.ParseHex(b.SerialHex), CertIdHashAlgorithm.Sha1);

        // Start reads no shard; the first lookup reads exactly its own.
        await source.ManifestsAsync(None);
        Assert.Empty(recording.ShardGets(s.IssuerId));
        Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(certA, None)).Outcome);
        Assert.Equal([StoreLayout.IndexShard(s.IssuerId, 64, shardA)], recording.ShardGets(s.IssuerId));
        Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(certA, None)).Outcome);
        Assert.Single(recording.ShardGets(s.IssuerId));

        // A miss: one shard read the first time, none after.
        var unknown = SerialNumber.ParseHex("7EADBEEF0123456789");
        int shardU = IndexShards.ShardOf(unknown, 64);
        recording.Clear();
        Assert.Equal(LookupOutcome.Unauthorized, (await source.LookupAsync(s.Issuer.CertIdFor(unknown, CertIdHashAlgorithm.Sha1), None)).Outcome);
        Assert.Equal(LookupOutcome.Unauthorized, (await source.LookupAsync(s.Issuer.CertIdFor(unknown, CertIdHashAlgorithm.Sha1), None)).Outcome);
        Assert.Equal(shardU == shardA ? [] : [StoreLayout.IndexShard(s.IssuerId, 64, shardU)], recording.ShardGets(s.IssuerId));
        Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(certB, None)).Outcome);

        // A refresh revokes a: the reload fetches a's shard again, not b's.
        s.Ca.Revoke(s.Ca.LeafPath(a.Name), "keyCompromise");
        s.Ca.GenerateCrl();
        Assert.True((await s.RunAsync()).Succeeded);
        recording.Clear();
        var revoked = await source.LookupAsync(certA, None);
        Assert.Equal(CertStatusKind.Revoked, revoked.Response!.Entry.Status);
        Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(certB, None)).Outcome);
        Assert.Equal([StoreLayout.IndexShard(s.IssuerId, 64, shardA)], recording.ShardGets(s.IssuerId));
        Assert.DoesNotContain(StoreLayout.IndexShard(s.IssuerId, 64, shardB), recording.ShardGets(s.IssuerId));
    }

    [Fact]
    public async Task A_refresh_migrates_an_index_tsv_store_and_a_server_reads_both_forms()
    {
        var s = RefreshSetup.Create(pki, "shards-migrate");
        Assert.True((await s.RunAsync()).Succeeded);
        // Turn the store into what an earlier version wrote: one index.tsv, a manifest without shards.
        var index = s.Index();
        await s.Store.PutAsync(StoreLayout.Index(s.IssuerId), index.Serialize(), None);
        Directory.Delete(Path.Combine(s.StoreDir, StoreLayout.IndexFolder(s.IssuerId)), recursive: true);
        var manifest = s.Manifest();
        manifest.IndexShards = 0;
        manifest.IndexShardVersions = [];
        await s.Store.PutAsync(StoreLayout.Manifest(s.IssuerId), manifest.Serialize(), None);

        var leaf = s.Ca.Source.Good.First();
        var certId = s.Issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha256);
        var legacyServer = s.Source(TimeSpan.Zero);
        Assert.Equal(LookupOutcome.Found, (await legacyServer.LookupAsync(certId, None)).Outcome);

        var result = Assert.Single((await s.RunAsync()).Issuers);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(0, result.ResponsesSigned);
        await AssertManifestMatchesShardsAsync(s.Store, s.IssuerId);
        Assert.Equal(index.Entries.OrderBy(kv => kv.Key), s.Index().Entries.OrderBy(kv => kv.Key));
        Assert.Equal(LookupOutcome.Found, (await legacyServer.LookupAsync(certId, None)).Outcome); // reloaded: now from a shard
        Assert.Equal(LookupOutcome.Found, (await s.Source(TimeSpan.Zero).LookupAsync(certId, None)).Outcome);
        Assert.NotNull(await s.FindAsync(leaf.SerialHex));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_run_killed_between_shard_writes_keeps_every_answer_and_converges(int failingShardWrite)
    {
        var s = RefreshSetup.Create(pki, $"shards-kill-{failingShardWrite}");
        await SeedShardsAsync(s.Store, s.IssuerId, 64);
        Assert.True((await s.RunAsync()).Succeeded);
        var good = s.Ca.Source.Good.ToList();
        var first = good[0];
        var second = good.First(l => IndexShards.ShardOf(SerialNumber.ParseHex(l.SerialHex), 64) != IndexShards.ShardOf(SerialNumber.ParseHex(first.SerialHex), 64));
        foreach (var leaf in new[] { first, second }) s.Ca.Revoke(s.Ca.LeafPath(leaf.Name), "keyCompromise");
        s.Ca.GenerateCrl();

        var killed = new RecordingStore(s.Store) { FailShardPutNumber = failingShardWrite };
        var report = await Engine(s, killed).RunAsync(None);
        Assert.False(report.Succeeded);

        // Every serial is still answered, from one version or the other (never missing, never a missing pack).
        var server = s.Source(TimeSpan.Zero);
        foreach (var leaf in s.Ca.Source.Leaves)
        {
            var lookup = await server.LookupAsync(s.Issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha1), None);
            Assert.Equal(LookupOutcome.Found, lookup.Outcome);
        }

        Assert.True((await s.RunAsync()).Succeeded);
        await AssertManifestMatchesShardsAsync(s.Store, s.IssuerId);
        foreach (var leaf in new[] { first, second })
        {
            var lookup = await server.LookupAsync(s.Issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha1), None);
            Assert.Equal(CertStatusKind.Revoked, lookup.Response!.Entry.Status);
        }
        Assert.Equal(s.Ca.Source.Leaves.Count + 1, s.Index().Entries.Count);
    }

    [Fact]
    public async Task The_shard_cache_evicts_the_least_recently_used_shards_to_stay_within_its_bound()
    {
        // Counted at the shards' real sizes: each 1,000 entries of 5-byte serials, one pack.
        var shard = IndexShard.FromEntries(Enumerable.Range(0, 1_000).Select(i => KeyValuePair.Create(Serial(i), Entry(1_700_000_000 + i))));
        Assert.InRange(shard.ByteSize, 1_000 * (5 + 24), 1_000 * (5 + 24) + 600); // serial bytes and records, a few hundred bytes besides
        long shardBytes = IndexShardCache.Overhead + shard.ByteSize;
        var cache = new IndexShardCache(capacityBytes: shardBytes * 4);
        int loads = 0;
        Task<IndexShard> Load(CancellationToken _)
        {
            Interlocked.Increment(ref loads);
            return Task.FromResult(IndexShard.FromEntries(shard.Entries()));
        }
        IndexShardCache.Key K(int k) => new("CC", 16, k);

        for (int k = 0; k < 4; k++) await cache.GetAsync(K(k), "v1", Load, None);
        Assert.Equal(4, loads);
        await cache.GetAsync(K(0), "v1", Load, None); // shard 0 used again: shard 1 is now the least recently used
        Assert.Equal(4, loads);
        await cache.GetAsync(K(4), "v1", Load, None); // over the bound
        Assert.Equal(5, loads);
        Assert.InRange(cache.Bytes, 0, shardBytes * 4);
        await cache.GetAsync(K(0), "v1", Load, None);
        await cache.GetAsync(K(4), "v1", Load, None);
        Assert.Equal(5, loads); // kept
        await cache.GetAsync(K(1), "v1", Load, None);
        Assert.Equal(6, loads); // evicted, loaded again

        // Another version is loaded again; Invalidate drops what a new manifest no longer lists.
        await cache.GetAsync(K(0), "v2", Load, None);
        Assert.Equal(7, loads);
        int held = cache.Count;
        Assert.Equal(0, cache.Invalidate("CC", (key, version) => true));
        Assert.Equal(held, cache.Invalidate("CC", (key, version) => false));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
    }

    private static RefreshEngine Engine(RefreshSetup s, IObjectStore store) => new(s.Options, store,
        new CompositeSourceReader([new FileSourceReader()]), new LocalKeySignerFactory(), TimeProvider.System, NullLogger<RefreshEngine>.Instance);
}

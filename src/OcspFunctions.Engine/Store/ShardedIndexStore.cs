using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// The refresh's view of an issuer's index, stored as shards (<see cref="IndexShards"/>): loads every shard into one
/// <see cref="IssuerIndex"/> (the refresh diffs all serials anyway) and, at each checkpoint, writes only the shards whose
/// entries changed since the last load or save, then records their versions in the manifest, which the caller writes
/// next — packs, then shards, then the manifest (If-Match), so a reader never follows an entry to a missing pack.
/// A store with a single index.tsv (written before shards) is read once and written as shards; the old object is retired.
/// </summary>
public sealed class ShardedIndexStore
{
    /// <summary>Shards read or written at once (Blob round trips overlap; a file store does not mind).</summary>
    private const int Parallelism = 8;

    private readonly IObjectStore _store;
    private readonly string _issuerId;
    private int _count;
    private ulong[] _fingerprints = [];
    private string[] _versions = [];
    private bool _rewriteAll;
    private bool _legacy;
    private bool _recordVersions;

    private ShardedIndexStore(IObjectStore store, string issuerId, IssuerIndex index)
    {
        _store = store;
        _issuerId = issuerId;
        Index = index;
    }

    /// <summary>Every serial of the issuer; the refresh changes it in place and then calls <see cref="SaveChangedAsync"/>.</summary>
    public IssuerIndex Index { get; }

    /// <summary>Something must be written even if no entry changed (a migration from index.tsv, a missing shard).</summary>
    public bool NeedsSave => _rewriteAll || _recordVersions;

    /// <summary>Shards written by this instance so far.</summary>
    public int ShardsWritten { get; private set; }

    /// <summary>
    /// Loads the index <paramref name="manifest"/> describes: its shards, or the index.tsv of an earlier version. Also
    /// deletes index objects retired longer than <paramref name="retention"/> ago (recorded in the manifest).
    /// </summary>
    public static async Task<ShardedIndexStore> LoadAsync(IObjectStore store, string issuerId, IssuerManifest manifest, DateTimeOffset now,
        TimeSpan retention, CancellationToken cancellationToken)
    {
        await DeleteRetiredAsync(store, manifest, now, retention, cancellationToken).ConfigureAwait(false);
        var entries = new Dictionary<SerialNumber, IndexEntry>();
        var loaded = new ShardedIndexStore(store, issuerId, new IssuerIndex(entries));
        int count = manifest.IndexShards;
        if (count < 0 || (count & (count - 1)) != 0) throw new StoreException($"{StoreLayout.Manifest(issuerId)}: bad index shard count {count}");
        if (count == 0)
        {
            var legacy = await store.GetAsync(StoreLayout.Index(issuerId), cancellationToken).ConfigureAwait(false);
            if (legacy is not null)
            {
                IssuerIndex.ParseInto(legacy.Content, StoreLayout.Index(issuerId), entries);
                loaded._rewriteAll = loaded._legacy = true; // migrate: written as shards at the next save
            }
            return loaded;
        }
        var parseLock = new Lock();
        bool missing = false;
        var versions = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (k, ct) =>
            {
                string name = StoreLayout.IndexShard(issuerId, count, k);
                var shard = await store.GetAsync(name, ct).ConfigureAwait(false);
                // Shards are written before the manifest that lists them, so only a hand-deleted one is missing: its
                // serials are signed again as new ones, and the shard is written again.
                if (shard is null) missing = true;
                else
                {
                    versions[k] = IndexShards.Version(shard.Content);
                    lock (parseLock) IssuerIndex.ParseInto(shard.Content, name, entries);
                }
            }).ConfigureAwait(false);
        loaded._count = count;
        loaded._fingerprints = loaded.Fingerprints(count);
        loaded._versions = versions;
        loaded._rewriteAll = missing;
        // A run killed between its shard writes and its manifest left shards newer than the versions the manifest lists:
        // record what they hold, so servers that loaded the older content fetch them again.
        loaded._recordVersions = manifest.IndexShardVersions.Count != count || !versions.SequenceEqual(manifest.IndexShardVersions);
        return loaded;
    }

    /// <summary>
    /// Writes the shards whose entries changed since the load or the previous save (all of them after a migration or when
    /// the shard count grows) and records the count and every shard's version in <paramref name="manifest"/>; the caller
    /// writes the manifest after this returns. Returns how many shards were written.
    /// </summary>
    public async Task<int> SaveChangedAsync(IssuerManifest manifest, DateTimeOffset now, CancellationToken cancellationToken)
    {
        int count = IndexShards.CountFor(Index.Entries.Count, _count);
        bool all = _rewriteAll || count != _count;
        var fingerprints = Fingerprints(count);
        var changed = new HashSet<int>();
        for (int k = 0; k < count; k++)
            if (all || fingerprints[k] != _fingerprints[k]) changed.Add(k);
        if (changed.Count == 0)
        {
            if (_recordVersions) manifest.IndexShardVersions = [.. _versions];
            _recordVersions = false;
            return 0;
        }

        var shards = new Dictionary<int, IssuerIndex>();
        foreach (int k in changed) shards[k] = new IssuerIndex();
        foreach (var (serial, entry) in Index.Entries)
            if (shards.TryGetValue(IndexShards.ShardOf(serial, count), out var shard)) shard.Entries[serial] = entry;

        var versions = all ? new string[count] : _versions.ToArray();
        await Parallel.ForEachAsync(shards,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (shard, ct) =>
            {
                var content = shard.Value.Serialize();
                await _store.PutAsync(StoreLayout.IndexShard(_issuerId, count, shard.Key), content, ct).ConfigureAwait(false);
                versions[shard.Key] = IndexShards.Version(content);
            }).ConfigureAwait(false);
        ShardsWritten += changed.Count;

        // What the manifest will say once written: the objects it no longer names are retired, deleted after the retention.
        if (manifest.IndexShards > 0 && manifest.IndexShards != count) manifest.RetiredIndex.TryAdd(StoreLayout.IndexShards(_issuerId, manifest.IndexShards), now);
        if (_legacy) manifest.RetiredIndex.TryAdd(StoreLayout.Index(_issuerId), now);
        manifest.RetiredIndex.Remove(StoreLayout.IndexShards(_issuerId, count));
        manifest.IndexShards = count;
        manifest.IndexShardVersions = [.. versions];
        _count = count;
        _fingerprints = fingerprints;
        _versions = versions;
        _rewriteAll = _legacy = _recordVersions = false;
        return changed.Count;
    }

    /// <summary>Per shard, an order-independent sum of its entries' hashes: a changed, added or removed entry changes it.</summary>
    private ulong[] Fingerprints(int count)
    {
        var sums = new ulong[count];
        foreach (var (serial, e) in Index.Entries)
        {
            ulong h = 14695981039346656037;
            foreach (byte b in serial.Bytes) h = (h ^ b) * 1099511628211;
            h = IndexShards.Mix(h ^ (ulong)e.Status);
            h = IndexShards.Mix(h ^ (ulong)e.RevocationTime);
            h = IndexShards.Mix(h ^ (ulong)(e.Reason is { } r ? (int)r + 1 : 0));
            h = IndexShards.Mix(h ^ (ulong)e.ThisUpdate);
            h = IndexShards.Mix(h ^ (ulong)e.NextUpdate);
            h = IndexShards.Mix(h ^ (ulong)(uint)StringComparer.Ordinal.GetHashCode(e.Pack));
            h = IndexShards.Mix(h ^ (ulong)e.Offset);
            h = IndexShards.Mix(h ^ (ulong)e.Length);
            sums[IndexShards.ShardOf(serial, count)] += h;
        }
        return sums;
    }

    /// <summary>Deletes the index objects retired at least <paramref name="retention"/> ago (housekeeping: failures are retried next run).</summary>
    private static async Task DeleteRetiredAsync(IObjectStore store, IssuerManifest manifest, DateTimeOffset now, TimeSpan retention,
        CancellationToken cancellationToken)
    {
        foreach (var (name, since) in manifest.RetiredIndex.ToList())
        {
            if (now - since < retention) continue;
            try
            {
                if (name.EndsWith('/'))
                {
                    var names = new List<string>();
                    await foreach (var shard in store.ListAsync(name, cancellationToken).ConfigureAwait(false)) names.Add(shard);
                    foreach (var shard in names) await store.DeleteAsync(shard, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await store.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
                }
                manifest.RetiredIndex.Remove(name);
            }
            catch (StoreException)
            {
                // Kept in the manifest: the next run tries again.
            }
        }
    }

    /// <summary>The whole index as the manifest describes it (status, staple, tools and tests; a server loads shards one by one).</summary>
    public static async Task<IssuerIndex> ReadAllAsync(IObjectStore store, string issuerId, CancellationToken cancellationToken)
    {
        var manifest = await ReadManifestAsync(store, issuerId, cancellationToken).ConfigureAwait(false);
        if (manifest is null) return new IssuerIndex();
        var loaded = await LoadAsync(store, issuerId, manifest, DateTimeOffset.MinValue, TimeSpan.MaxValue, cancellationToken).ConfigureAwait(false);
        return loaded.Index;
    }

    /// <summary>One shard (or, for a store from before shards, the whole index.tsv); a shard the manifest lists but the store lacks is a <see cref="StoreException"/>.</summary>
    public static async Task<IssuerIndex> ReadShardAsync(IObjectStore store, string issuerId, int count, int shard, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            var legacy = await store.GetAsync(StoreLayout.Index(issuerId), cancellationToken).ConfigureAwait(false);
            return legacy is null ? new IssuerIndex() : IssuerIndex.Parse(legacy.Content, StoreLayout.Index(issuerId));
        }
        string name = StoreLayout.IndexShard(issuerId, count, shard);
        var stored = await store.GetAsync(name, cancellationToken).ConfigureAwait(false)
                     ?? throw new StoreException($"index shard {name} is missing although the manifest lists it");
        return IssuerIndex.Parse(stored.Content, name);
    }

    /// <summary>The entry of one serial, reading only its shard (null when the issuer has none).</summary>
    public static async Task<IndexEntry?> FindEntryAsync(IObjectStore store, string issuerId, SerialNumber serial, CancellationToken cancellationToken)
    {
        var manifest = await ReadManifestAsync(store, issuerId, cancellationToken).ConfigureAwait(false);
        if (manifest is null) return null;
        int count = manifest.IndexShards;
        var shard = await ReadShardAsync(store, issuerId, count, count > 0 ? IndexShards.ShardOf(serial, count) : 0, cancellationToken).ConfigureAwait(false);
        return shard.Entries.TryGetValue(serial, out var entry) ? entry : null;
    }

    private static async Task<IssuerManifest?> ReadManifestAsync(IObjectStore store, string issuerId, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(StoreLayout.Manifest(issuerId), cancellationToken).ConfigureAwait(false);
        return stored is null ? null : IssuerManifest.Parse(stored.Content, StoreLayout.Manifest(issuerId));
    }
}

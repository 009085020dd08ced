using OcspFunctions.Protocol;

namespace OcspFunctions.Engine.Store;

/// <summary>
/// The refresh's view of an issuer's index, stored as shards (<see cref="IndexShards"/>): loads every shard in its compact
/// form (<see cref="IndexShard"/>) behind one <see cref="IssuerIndex"/> (the refresh diffs all serials anyway), whose
/// entries record which shards a set or remove really changed; each checkpoint writes only those, then records their
/// versions in the manifest, which the caller writes next — packs, then shards, then the manifest (If-Match), so a reader
/// never follows an entry to a missing pack.
/// A store with a single index.tsv (written before shards) is read once and written as shards; the old object is retired.
/// </summary>
public sealed class ShardedIndexStore
{
    /// <summary>Shards read or written at once (Blob round trips overlap; a file store does not mind).</summary>
    private const int Parallelism = 8;

    private readonly IObjectStore _store;
    private readonly string _issuerId;
    private int _count;
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

    /// <summary>Shards the last <see cref="SaveChangedAsync"/> wrote.</summary>
    public int LastSaved { get; private set; }

    /// <summary>
    /// Entries the index will hold once the run's plan is signed: the shard count is sized for them from the first save, so
    /// a bulk load does not re-partition every entry each time it outgrows the count (at 10M serials four times over).
    /// </summary>
    public int ExpectedEntries { get; set; }

    /// <summary>
    /// Loads the index <paramref name="manifest"/> describes: its shards, or the index.tsv of an earlier version. Also
    /// deletes index objects retired longer than <paramref name="retention"/> ago (recorded in the manifest).
    /// </summary>
    public static async Task<ShardedIndexStore> LoadAsync(IObjectStore store, string issuerId, IssuerManifest manifest, DateTimeOffset now,
        TimeSpan retention, CancellationToken cancellationToken)
    {
        await DeleteRetiredAsync(store, manifest, now, retention, cancellationToken).ConfigureAwait(false);
        int count = manifest.IndexShards;
        if (count < 0 || (count & (count - 1)) != 0) throw new StoreException($"{StoreLayout.Manifest(issuerId)}: bad index shard count {count}");
        if (count == 0)
        {
            var legacy = await store.GetAsync(StoreLayout.Index(issuerId), cancellationToken).ConfigureAwait(false);
            if (legacy is null) return new ShardedIndexStore(store, issuerId, new IssuerIndex());
            // Migrate: one shard for now, written as shards at the next save.
            var whole = new IssuerIndex(new IndexEntries([IndexShard.Parse(legacy.Content, StoreLayout.Index(issuerId))]));
            return new ShardedIndexStore(store, issuerId, whole) { _rewriteAll = true, _legacy = true };
        }
        bool missing = false;
        var versions = new string[count];
        var shards = new IndexShard[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (k, ct) =>
            {
                string name = StoreLayout.IndexShard(issuerId, count, k);
                var shard = await store.GetAsync(name, ct).ConfigureAwait(false);
                // Shards are written before the manifest that lists them, so only a hand-deleted one is missing: its
                // serials are signed again as new ones, and the shard is written again.
                if (shard is null)
                {
                    missing = true;
                    shards[k] = IndexShard.Empty;
                }
                else
                {
                    versions[k] = IndexShards.Version(shard.Content);
                    shards[k] = IndexShard.Parse(shard.Content, name);
                }
            }).ConfigureAwait(false);
        return new ShardedIndexStore(store, issuerId, new IssuerIndex(new IndexEntries(shards)))
        {
            _count = count,
            _versions = versions,
            _rewriteAll = missing,
            // A run killed between its shard writes and its manifest left shards newer than the versions the manifest lists:
            // record what they hold, so servers that loaded the older content fetch them again.
            _recordVersions = manifest.IndexShardVersions.Count != count || !versions.SequenceEqual(manifest.IndexShardVersions),
        };
    }

    /// <summary>
    /// Writes the shards whose entries changed since the load or the previous save (all of them after a migration or when
    /// the shard count grows) and records the count and every shard's version in <paramref name="manifest"/>; the caller
    /// writes the manifest after this returns. Returns how many shards were written. Each written shard's changes are
    /// merged into its compact form only once stored, so a failed save leaves them to the next.
    /// </summary>
    public async Task<int> SaveChangedAsync(IssuerManifest manifest, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entries = Index.Entries;
        int count = IndexShards.CountFor(Math.Max(entries.Count, ExpectedEntries), _count);
        // Entries partitioned otherwise than the shards to write (a grown count, a migration, a first run): all of them.
        bool all = _rewriteAll || count != _count || count != entries.ShardCount;
        var partition = count != entries.ShardCount ? entries.Partition(count) : null;
        int[] changed = [.. Enumerable.Range(0, count).Where(k => partition is not null || all || entries.IsDirty(k))];
        if (changed.Length == 0)
        {
            if (_recordVersions) manifest.IndexShardVersions = [.. _versions];
            _recordVersions = false;
            return LastSaved = 0;
        }

        // Each shard merged, serialized and stored by the same worker: a checkpoint of a bulk load merges every shard, and
        // the signing it pauses leaves every processor to it.
        var versions = all ? new string[count] : _versions.ToArray();
        var saved = new IndexShard[count];
        await Parallel.ForEachAsync(changed,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (k, ct) =>
            {
                var shard = partition is not null ? partition[k] : entries.Merged(k);
                var content = shard.Serialize();
                await _store.PutAsync(StoreLayout.IndexShard(_issuerId, count, k), content, ct).ConfigureAwait(false);
                versions[k] = IndexShards.Version(content);
                saved[k] = shard;
            }).ConfigureAwait(false);
        ShardsWritten += changed.Length;
        if (partition is not null) entries.Saved(partition);
        else foreach (int k in changed) entries.Saved(k, saved[k]);

        // What the manifest will say once written: the objects it no longer names are retired, deleted after the retention.
        if (manifest.IndexShards > 0 && manifest.IndexShards != count) manifest.RetiredIndex.TryAdd(StoreLayout.IndexShards(_issuerId, manifest.IndexShards), now);
        if (_legacy) manifest.RetiredIndex.TryAdd(StoreLayout.Index(_issuerId), now);
        manifest.RetiredIndex.Remove(StoreLayout.IndexShards(_issuerId, count));
        manifest.IndexShards = count;
        manifest.IndexShardVersions = [.. versions];
        _count = count;
        _versions = versions;
        _rewriteAll = _legacy = _recordVersions = false;
        return LastSaved = changed.Length;
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
    public static async Task<IndexShard> ReadShardAsync(IObjectStore store, string issuerId, int count, int shard, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            var legacy = await store.GetAsync(StoreLayout.Index(issuerId), cancellationToken).ConfigureAwait(false);
            return legacy is null ? IndexShard.Empty : IndexShard.Parse(legacy.Content, StoreLayout.Index(issuerId));
        }
        string name = StoreLayout.IndexShard(issuerId, count, shard);
        // Parsed from the store's buffer (pooled where the store lends one): the shard's text is garbage once parsed.
        return await store.ReadAsync(name, content => IndexShard.Parse(content, name), cancellationToken).ConfigureAwait(false)
               ?? throw new StoreException($"index shard {name} is missing although the manifest lists it");
    }

    /// <summary>The entry of one serial, reading only its shard (null when the issuer has none).</summary>
    public static async Task<IndexEntry?> FindEntryAsync(IObjectStore store, string issuerId, SerialNumber serial, CancellationToken cancellationToken)
    {
        var manifest = await ReadManifestAsync(store, issuerId, cancellationToken).ConfigureAwait(false);
        if (manifest is null) return null;
        int count = manifest.IndexShards;
        var shard = await ReadShardAsync(store, issuerId, count, count > 0 ? IndexShards.ShardOf(serial, count) : 0, cancellationToken).ConfigureAwait(false);
        return shard.TryGet(serial, out var entry) ? entry : null;
    }

    private static async Task<IssuerManifest?> ReadManifestAsync(IObjectStore store, string issuerId, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(StoreLayout.Manifest(issuerId), cancellationToken).ConfigureAwait(false);
        return stored is null ? null : IssuerManifest.Parse(stored.Content, StoreLayout.Manifest(issuerId));
    }
}

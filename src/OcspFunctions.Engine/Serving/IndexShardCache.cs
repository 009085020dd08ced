using System.Collections.Concurrent;
using OcspFunctions.Engine.Store;

namespace OcspFunctions.Engine.Serving;

/// <summary>
/// The index shards a server holds, loaded on first need and kept up to a byte bound (least recently used first out).
/// A shard is kept with the manifest version it was loaded for; asked for another version, it is loaded again. A load
/// is shared by the requests that wait for it and never cancelled by one of them; a failed load is not kept.
/// </summary>
public sealed class IndexShardCache(long capacityBytes)
{
    /// <summary>Bytes counted for a slot besides its shard's own (<see cref="IndexShard.ByteSize"/>): the slot, its task and the dictionary entry.</summary>
    public const int Overhead = 256;

    /// <summary>A shard: issuer, shard count (0: a whole index.tsv from before shards) and number.</summary>
    public readonly record struct Key(string IssuerId, int Count, int Shard);

    private sealed class Slot(string version)
    {
        public string Version { get; } = version;
        public TaskCompletionSource<IndexShard> Loaded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long Bytes;
        public long LastUsed;
    }

    private readonly ConcurrentDictionary<Key, Slot> _slots = new();
    private readonly Lock _accounting = new();
    private long _bytes;
    private long _clock;

    /// <summary>Bytes of the shards held now: their arrays and pack names, and <see cref="Overhead"/> each.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Shards held now (loaded or loading).</summary>
    public int Count => _slots.Count;

    /// <summary>Shards loaded from the store since the start.</summary>
    public long Loads => Interlocked.Read(ref _loads);

    private long _loads;

    /// <summary>The shard at <paramref name="version"/> when it is in memory and loaded (the synchronous path of a hit).</summary>
    public bool TryGetLoaded(Key key, string version, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IndexShard? shard)
    {
        if (_slots.TryGetValue(key, out var slot) && slot.Version == version && slot.Loaded.Task.IsCompletedSuccessfully)
        {
            slot.LastUsed = Interlocked.Increment(ref _clock);
            shard = slot.Loaded.Task.Result;
            return true;
        }
        shard = null;
        return false;
    }

    /// <summary>The shard at <paramref name="version"/>: from memory, or loaded with <paramref name="load"/>.</summary>
    public async ValueTask<IndexShard> GetAsync(Key key, string version, Func<CancellationToken, Task<IndexShard>> load, CancellationToken cancellationToken)
    {
        if (!_slots.TryGetValue(key, out var slot) || slot.Version != version)
        {
            Slot? created = null;
            lock (_accounting)
            {
                if (!_slots.TryGetValue(key, out slot) || slot.Version != version)
                {
                    if (slot is not null) _bytes -= slot.Bytes; // an older version of the shard
                    _slots[key] = slot = created = new Slot(version);
                }
            }
            if (created is not null) _ = LoadAsync(key, created, load);
        }
        slot.LastUsed = Interlocked.Increment(ref _clock);
        return await slot.Loaded.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task LoadAsync(Key key, Slot slot, Func<CancellationToken, Task<IndexShard>> load)
    {
        IndexShard shard;
        try
        {
            Interlocked.Increment(ref _loads);
            shard = await load(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_accounting) _slots.TryRemove(KeyValuePair.Create(key, slot));
            slot.Loaded.SetException(e);
            return;
        }
        lock (_accounting)
        {
            // Replaced by a newer version meanwhile: counted by nobody, dropped with its last reader.
            if (_slots.TryGetValue(key, out var current) && ReferenceEquals(current, slot))
            {
                slot.Bytes = Overhead + shard.ByteSize;
                _bytes += slot.Bytes;
                if (_bytes > capacityBytes) EvictLocked(slot);
            }
        }
        slot.Loaded.SetResult(shard);
    }

    /// <summary>Drops the least recently used loaded shards until 90 % of the bound is left, keeping <paramref name="keep"/>.</summary>
    private void EvictLocked(Slot keep)
    {
        var loaded = _slots.Where(s => s.Value.Bytes > 0 && !ReferenceEquals(s.Value, keep)).OrderBy(s => s.Value.LastUsed).ToList();
        foreach (var (key, slot) in loaded)
        {
            if (_bytes <= capacityBytes * 9 / 10) break;
            if (_slots.TryRemove(KeyValuePair.Create(key, slot))) _bytes -= slot.Bytes;
        }
    }

    /// <summary>Drops the issuer's shards the current manifest no longer lists at their version (a reload fetches only those again, when needed).</summary>
    public int Invalidate(string issuerId, Func<Key, string, bool> current)
    {
        int dropped = 0;
        lock (_accounting)
        {
            foreach (var (key, slot) in _slots)
            {
                if (key.IssuerId != issuerId || current(key, slot.Version)) continue;
                if (_slots.TryRemove(KeyValuePair.Create(key, slot)))
                {
                    _bytes -= slot.Bytes;
                    dropped++;
                }
            }
        }
        return dropped;
    }
}
